// Placeholder: replaced by the page's implementation.
import { h } from '../ui.js';

export async function render(ctx) {
  ctx.setTitle('dashboard');
  ctx.root.append(h('h1', {}, 'dashboard'));
}
