// Placeholder: replaced by the page's implementation.
import { h } from '../ui.js';

export async function render(ctx) {
  ctx.setTitle('meetings');
  ctx.root.append(h('h1', {}, 'meetings'));
}
