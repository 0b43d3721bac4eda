// 课程 (classes): the org's courses, and one course's page (#/classes/<orgId>/course/<id>)
// with its lessons, quizzes, assignments and funnel.

import { api } from '../api.js';
import { h, clear, field, select, table, dialog, formData, idempotencyKey, pageStyle } from '../ui.js';
import { renderCourse } from './classes/course.js';
import { courseKinds, statusBadge, credit, parseCredit, parseTags, orgNames } from './classes/common.js';

export async function render(ctx) {
  pageStyle('classes');
  if (ctx.rest[0] === 'course' && ctx.rest[1]) {
    await renderCourse(ctx, Number(ctx.rest[1]));
    return;
  }
  await renderList(ctx);
}

async function renderList(ctx) {
  ctx.setTitle('课程');
  const add = h('button', { type: 'button', class: 'primary', onclick: () => createCourse(ctx) }, '新建课程');
  const body = h('div', { class: 'classes-list' }, h('p', { class: 'loading', role: 'status' }, '正在加载课程…'));
  ctx.root.append(
    h('h1', {}, '课程'),
    h('p', { class: 'muted' }, `${ctx.org.name}及下级组织的课程，最新的在前。新建的课程是草稿：添加课时和测验后发布，再分配到组织。`),
    h('div', { class: 'toolbar' }, add),
    body,
  );
  const names = await orgNames(ctx);
  const items = [];
  const more = h('button', { type: 'button' }, '加载更多');
  let cursor = null;
  const draw = () => {
    clear(body,
      table([
        { title: '课程', cell: (c) => h('a', { href: ctx.href('classes', ctx.orgId, 'course', c.id) }, c.title) },
        { title: '类型', cell: (c) => courseKinds[c.kind] || c.kind },
        { title: '状态', cell: (c) => statusBadge(c.status) },
        { title: '学时', class: 'num', cell: (c) => credit(c.credit_centi) },
        { title: '所属组织', cell: (c) => names.get(c.owner_org_id) || `组织 ${c.owner_org_id}` },
      ], items, { caption: `课程（${items.length}${cursor ? '+' : ''}）`, empty: '还没有课程。点“新建课程”开始。', rowAttrs: (c) => ({ dataset: { course: c.id } }) }),
      cursor ? more : null);
  };
  const load = async () => {
    const page = await api.get(`/v1/orgs/${ctx.orgId}/courses`, { limit: 50, cursor }, { signal: ctx.signal });
    items.push(...page.items);
    cursor = page.next_cursor || null;
    draw();
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try { await load(); } finally { more.disabled = false; }
  });
  await load();
}

async function createCourse(ctx) {
  const title = h('input', { name: 'title', required: true, maxlength: 200 });
  const body = h('div', {},
    field('课程名称', title),
    field('类型', select('kind', Object.entries(courseKinds), 'online_class')),
    field('学时', h('input', { name: 'credit', type: 'number', min: 0, max: 100, step: 0.01, value: '1', required: true }),
      '整门课程的学时，平均分到各课时；发布后不能修改。'),
    field('简介', h('textarea', { name: 'summary', maxlength: 2000, rows: 3 })),
    field('标签', h('input', { name: 'tags' }), '用逗号分隔，最多 10 个，如：党史,乡村振兴'),
    h('p', { class: 'muted' }, `课程归属：${ctx.org.name}`));
  setTimeout(() => title.focus(), 0);
  const course = await dialog('新建课程', body, {
    submitText: '创建',
    onSubmit: async (form) => {
      const f = formData(form);
      return api.post('/v1/courses', {
        owner_org_id: ctx.orgId,
        kind: f.kind,
        title: f.title || '',
        credit_centi: parseCredit(f.credit),
        summary: f.summary || '',
        tags: parseTags(f.tags),
      }, { headers: { 'Idempotency-Key': idempotencyKey() } });
    },
  });
  if (course) ctx.navigate('classes', ctx.orgId, 'course', course.id);
}
