// Placeholder: replaced by the page's implementation.
import { h } from '../ui.js';

export async function render(ctx) {
  ctx.setTitle('classes');
  ctx.root.append(h('h1', {}, 'classes'));
}
