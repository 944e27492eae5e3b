/** A Content-Type header, read once for every route: its media type and its parameters (RFC 9110 §8.3). */
export interface ContentType {
  /** The media type as sent, trimmed; '' when there is none. */
  readonly asSent: string;
  /** The media type lower-cased, for comparing (media types are case-insensitive). */
  readonly mediaType: string;
  /** A parameter's value (name case-insensitive, quotes removed), or undefined. */
  parameter(name: string): string | undefined;
}

export function parseContentType(header: string | undefined): ContentType {
  const [type = '', ...parameters] = (header ?? '').split(';').map((part) => part.trim());
  return {
    asSent: type,
    mediaType: type.toLowerCase(),
    parameter(name) {
      const prefix = `${name.toLowerCase()}=`;
      return parameters
        .find((p) => p.toLowerCase().startsWith(prefix))
        ?.slice(prefix.length)
        .replace(/^"|"$/g, '');
    },
  };
}
