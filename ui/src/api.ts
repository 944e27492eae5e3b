/**
 * Every call the page makes to meetr, same origin. With tokens on, the first 401
 * asks for a token once (every call waiting meanwhile shares the question), keeps it
 * for this tab's session and sends it as a bearer header, never in a URL.
 */
const TOKEN_KEY = 'meetr.token';
let token: string | null = sessionStorage.getItem(TOKEN_KEY);
let asking: Promise<string> | undefined;

/** Shows the token dialog and resolves with what was entered. */
function askToken(message: string): Promise<string> {
  asking ??= new Promise<string>((resolve) => {
    const dialog = document.getElementById('token-dialog') as HTMLDialogElement;
    const input = document.getElementById('token-input') as HTMLInputElement;
    (document.getElementById('token-message') as HTMLElement).textContent = message;
    input.value = '';
    const form = dialog.querySelector('form') as HTMLFormElement;
    form.onsubmit = (event) => {
      event.preventDefault();
      dialog.close();
      asking = undefined;
      resolve(input.value.trim());
    };
    dialog.showModal();
    input.focus();
  });
  return asking;
}

/** Forgets the token: the next call asks again. */
export function forgetToken(): void {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
}

/** fetch, with the token when there is one, asking for it on a 401. */
export async function apiFetch(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(init.headers);
    if (token !== null) headers.set('Authorization', `Bearer ${token}`);
    const response = await fetch(input, { ...init, headers });
    if (response.status !== 401 || attempt >= 5) return response;
    token = await askToken(
      token === null
        ? 'This meetr needs a token (a read or admin token, from ./meetr token create).'
        : 'That token was refused: enter a valid read or admin token.',
    );
    sessionStorage.setItem(TOKEN_KEY, token);
  }
}

/** A Prometheus API answer's data, or its `error` text as the thrown message. */
export async function prometheus<T>(path: string, params: Record<string, string>): Promise<T> {
  const response = await apiFetch(`/api/v1/${path}?${new URLSearchParams(params).toString()}`);
  const body = await jsonOf(response);
  if (response.ok && body.status === 'success') return body.data as T;
  throw new Error(typeof body.error === 'string' ? body.error : `HTTP ${response.status}`);
}

/** A Meetr API answer, or its `message` (and the first detail) as the thrown message. */
export async function meetr<T>(path: string, params: Record<string, string>): Promise<T> {
  const response = await apiFetch(`${path}?${new URLSearchParams(params).toString()}`);
  const body = await jsonOf(response);
  if (response.ok) return body as T;
  const details = Array.isArray(body.details) ? (body.details as { field?: string; message?: string }[]) : [];
  const detail = details.map((d) => `${d.field ?? ''} ${d.message ?? ''}`.trim()).join('; ');
  const message = typeof body.message === 'string' ? body.message : `HTTP ${response.status}`;
  throw new Error(detail === '' ? message : `${message}: ${detail}`);
}

async function jsonOf(response: Response): Promise<Record<string, unknown>> {
  try {
    return (await response.json()) as Record<string, unknown>;
  } catch {
    return { error: `HTTP ${response.status} ${response.statusText}`, message: `HTTP ${response.status}` };
  }
}
