// Shared bits of the classes page: Chinese names, credit formatting, org names in scope,
// and the article preview's sanitizer.

import { api } from '../../api.js';
import { h } from '../../ui.js';

export const courseKinds = { online_class: '在线党课', mini_class: '微党课' };
export const courseStatus = { draft: '草稿', published: '已发布', archived: '已归档' };
export const lessonKinds = { video: '视频', audio: '音频', pdf: 'PDF 文档', article: '图文' };
export const questionKinds = { single: '单选题', multiple: '多选题', true_false: '判断题' };
export const revealAnswers = {
  after_pass_or_last_attempt: '通过或用完次数后显示正确答案',
  never: '从不显示正确答案',
};

export function statusBadge(status) {
  const cls = { draft: 'warn', published: 'ok', archived: '' }[status] ?? '';
  return h('span', { class: `badge ${cls}`, dataset: { status } }, courseStatus[status] || status);
}

// Credit is kept in hundredths of a credit hour.
export function credit(centi) {
  return centi === null || centi === undefined ? '—' : (Number(centi) / 100).toFixed(2);
}

export function parseCredit(text) {
  const n = Number(String(text ?? '').trim());
  return Number.isFinite(n) ? Math.round(n * 100) : -1;
}

export function parseTags(text) {
  return String(text || '').split(/[,，、\s]+/).map((t) => t.trim()).filter(Boolean);
}

export function duration(s) {
  if (s === null || s === undefined) return '—';
  const m = Math.floor(s / 60);
  const r = s % 60;
  return m ? `${m} 分 ${r} 秒` : `${r} 秒`;
}

export function size(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// The orgs of the chosen org's subtree (the caller's scope below it), flattened in tree
// order with their depth below the chosen org.
export async function subtree(ctx) {
  const tree = await api.get(`/v1/orgs/${ctx.orgId}/tree`, { depth: 8 }, { signal: ctx.signal });
  const out = [];
  const walk = (node, level) => {
    out.push({ id: node.id, name: node.name, kind: node.kind, level });
    for (const c of node.children || []) walk(c, level + 1);
  };
  walk(tree, 0);
  return out;
}

export async function orgNames(ctx) {
  const names = new Map([[ctx.org.id, ctx.org.name]]);
  try {
    for (const o of await subtree(ctx)) names.set(o.id, o.name);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
  }
  return names;
}

// An article body is HTML (the server sanitizes it). Plain text without any tag is
// turned into paragraphs so that line breaks survive.
export function articleHtml(text) {
  const t = String(text || '').trim();
  if (!t || /<[a-z!/][^>]*>/i.test(t)) return t;
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return t.split(/\n\s*\n/).map((p) => `<p>${esc(p.trim()).replace(/\n/g, '<br>')}</p>`).join('\n');
}

const ALLOWED = new Set(['p', 'br', 'b', 'strong', 'i', 'em', 'u', 's', 'del', 'ins', 'mark', 'small', 'sub', 'sup',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'blockquote', 'pre', 'code', 'hr', 'a', 'img',
  'table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'caption', 'span', 'div', 'figure', 'figcaption']);
const DROPPED = new Set(['script', 'style', 'iframe', 'object', 'embed', 'template', 'noscript', 'svg', 'math', 'form', 'input', 'button', 'textarea', 'select']);
const SAFE_URL = /^(https?:|data:image\/|blob:)/i;

// A preview of an article in this page: only an allow-list of elements and of attributes
// (href/src to http(s) only), as the server's sanitizer keeps, so a preview never runs code.
export function previewNodes(html) {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, 'text/html');
  const copy = (node, into) => {
    for (const n of Array.from(node.childNodes)) {
      if (n.nodeType === Node.TEXT_NODE) { into.append(document.createTextNode(n.textContent)); continue; }
      if (n.nodeType !== Node.ELEMENT_NODE) continue;
      const tag = n.tagName.toLowerCase();
      if (DROPPED.has(tag)) continue;
      if (!ALLOWED.has(tag)) { copy(n, into); continue; }
      const el = document.createElement(tag);
      for (const a of ['href', 'src', 'alt', 'title', 'colspan', 'rowspan']) {
        const v = n.getAttribute(a);
        if (v === null) continue;
        if ((a === 'href' || a === 'src') && !SAFE_URL.test(v.trim())) continue;
        el.setAttribute(a, v);
      }
      if (tag === 'a') { el.setAttribute('rel', 'noopener noreferrer'); el.setAttribute('target', '_blank'); }
      copy(n, el);
      into.append(el);
    }
  };
  const frag = document.createDocumentFragment();
  copy(doc.body, frag);
  return frag;
}
