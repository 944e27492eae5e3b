/** The explorer page: tabs, each started once; the URL says which is shown (state.ts). */
import { forgetToken } from './api';
import { startQueryTab } from './query';
import { startSearchTab } from './search';
import { startSeriesTab } from './series';
import { currentTab, setParams, type Tab } from './state';
import { startStatusTab } from './status';
import './style.css';

const editor = startQueryTab();
startSearchTab();
const showStatus = startStatusTab();
const showSeries = startSeriesTab((selector) => {
  editor.setText(selector);
  show('query');
  document.getElementById('run')?.click();
});

function show(tab: Tab): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-tab]'))
    button.classList.toggle('active', button.dataset.tab === tab);
  for (const panel of document.querySelectorAll<HTMLElement>('[data-panel]'))
    panel.hidden = panel.dataset.panel !== tab;
  setParams({ tab });
  if (tab === 'series') showSeries();
  showStatus(tab === 'status');
  if (tab === 'query') editor.focus();
}

for (const button of document.querySelectorAll<HTMLButtonElement>('[data-tab]'))
  button.onclick = () => show(button.dataset.tab as Tab);
(document.getElementById('forget-token') as HTMLButtonElement).onclick = () => {
  forgetToken();
  location.reload();
};
show(currentTab());
document.body.dataset.ready = 'true';
