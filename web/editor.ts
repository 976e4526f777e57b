// The hidden-layer editor: a card per layer with its neuron count (− / +), its activation and a remove
// button, and "+ layer". Plain buttons and selects, so it works from the keyboard; focus stays on the
// control that was used when the cards are redrawn. A per-layer option (dropout, once the library has it)
// is one more control on the card and one more field of HiddenLayer.
import { ACTIVATIONS, type ActivationId, type HiddenLayer, LIMITS } from './state';

const NAMES: Record<ActivationId, string> = {
  relu: 'ReLU',
  leaky: 'LeakyReLU',
  tanh: 'Tanh',
  sigmoid: 'Sigmoid',
  linear: 'linear (none)',
};

export function renderEditor(root: HTMLElement, hidden: HiddenLayer[], change: (next: HiddenLayer[]) => void): void {
  const focused = (document.activeElement as HTMLElement | null)?.dataset?.key;
  root.replaceChildren();
  const update = (f: (layers: HiddenLayer[]) => void) => {
    const next = hidden.map((l) => ({ ...l }));
    f(next);
    change(next);
  };
  const button = (text: string, label: string, key: string, disabled: boolean, action: () => void) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.setAttribute('aria-label', label);
    b.dataset.key = key;
    b.disabled = disabled;
    b.onclick = action;
    return b;
  };
  hidden.forEach((layer, k) => {
    const card = document.createElement('div');
    card.className = 'layer';
    card.setAttribute('role', 'group');
    card.setAttribute('aria-label', `hidden layer ${k + 1}`);
    const title = document.createElement('span');
    title.textContent = `layer ${k + 1}`;
    const units = document.createElement('div');
    units.className = 'units';
    const count = document.createElement('span');
    count.textContent = `${layer.units} neuron${layer.units === 1 ? '' : 's'}`;
    units.append(
      button('−', `fewer neurons in layer ${k + 1}`, `minus${k}`, layer.units <= 1, () =>
        update((l) => {
          l[k].units--;
        }),
      ),
      count,
      button('+', `more neurons in layer ${k + 1}`, `plus${k}`, layer.units >= LIMITS.units, () =>
        update((l) => {
          l[k].units++;
        }),
      ),
    );
    const select = document.createElement('select');
    select.setAttribute('aria-label', `activation of layer ${k + 1}`);
    select.dataset.key = `act${k}`;
    for (const id of ACTIVATIONS) select.append(new Option(NAMES[id], id, false, id === layer.activation));
    select.onchange = () =>
      update((l) => {
        l[k].activation = select.value as ActivationId;
      });
    card.append(
      title,
      units,
      select,
      button('remove', `remove layer ${k + 1}`, `remove${k}`, false, () =>
        update((l) => {
          l.splice(k, 1);
        }),
      ),
    );
    root.append(card);
  });
  const last = hidden.at(-1);
  root.append(
    button('+ layer', 'add a hidden layer', 'add', hidden.length >= LIMITS.layers, () =>
      update((l) => {
        l.push({ units: last?.units ?? 4, activation: last?.activation ?? 'relu' });
      }),
    ),
  );
  const again = focused ? root.querySelector<HTMLElement>(`[data-key="${focused}"]`) : null;
  if (again && !(again as HTMLButtonElement).disabled) again.focus();
  else if (focused && root.querySelector('[data-key]')) root.querySelector<HTMLElement>('[data-key="add"]')?.focus();
}
