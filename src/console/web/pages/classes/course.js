// One course: its details and status, lessons (with quizzes), assignments and funnel.

import { api, ApiError } from '../../api.js';
import { h, clear, field, table, dialog, confirmDialog, formData, busy, toast, fmt, errorBox, notFound } from '../../ui.js';
import { courseKinds, lessonKinds, statusBadge, credit, parseCredit, parseTags, duration, subtree } from './common.js';
import { editLesson } from './lesson.js';
import { editQuiz } from './quiz.js';

export async function renderCourse(ctx, courseId) {
  let course;
  try {
    course = await api.get(`/v1/courses/${courseId}`, undefined, { signal: ctx.signal });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      ctx.setTitle('未找到');
      ctx.root.append(h('h1', {}, '课程'), notFound('该课程'));
      return;
    }
    throw e;
  }
  ctx.setTitle(course.title);
  const head = h('div', { class: 'course-head' });
  const lessons = h('section', { class: 'card', 'aria-labelledby': 'lessons-h' });
  const assigns = h('section', { class: 'card', 'aria-labelledby': 'assign-h' });
  const funnel = h('section', { class: 'card', 'aria-labelledby': 'funnel-h' });
  ctx.root.append(
    h('p', { class: 'crumb' }, h('a', { href: ctx.href('classes', ctx.orgId) }, '← 课程列表')),
    h('h1', {}, course.title),
    head, lessons, assigns, funnel);

  const reload = async () => {
    course = await api.get(`/v1/courses/${courseId}`, undefined, { signal: ctx.signal });
    ctx.setTitle(course.title);
    ctx.root.querySelector('h1').textContent = course.title;
    drawHead();
    drawLessons();
    await Promise.all([loadAssignments(), loadFunnel()]);
  };

  // ---- details and status --------------------------------------------------------
  const drawHead = () => {
    const manage = course.can_manage;
    const actions = [];
    if (manage) {
      actions.push(h('button', { type: 'button', onclick: () => editCourse(course, reload) }, '编辑课程信息'));
      if (course.status !== 'published') {
        const b = h('button', { type: 'button', class: 'primary', dataset: { action: 'publish' } }, course.status === 'archived' ? '重新发布' : '发布课程');
        b.addEventListener('click', () => busy(b, async () => {
          await api.post(`/v1/courses/${courseId}/publish`);
          toast('课程已发布。分配到组织后党员才能看到。', 'success');
          await reload();
        }));
        actions.push(b);
      } else {
        const b = h('button', { type: 'button', class: 'danger', dataset: { action: 'archive' } }, '归档课程');
        b.addEventListener('click', async () => {
          if (!await confirmDialog('归档课程', '归档后党员看不到这门课程，已有的学习记录保留。可以重新发布。', '归档')) return;
          await busy(b, async () => {
            await api.post(`/v1/courses/${courseId}/archive`);
            toast('课程已归档。', 'success');
            await reload();
          });
        });
        actions.push(b);
      }
    }
    clear(head,
      h('div', { class: 'cards' },
        fig('状态', statusBadge(course.status), course.published_at ? `发布于 ${fmt.dateTime(course.published_at)}` : '尚未发布', 'status'),
        fig('类型', courseKinds[course.kind] || course.kind),
        fig('学时', credit(course.credit_centi), `${course.lessons.length} 个课时平分`, 'credit'),
        fig('创建时间', fmt.date(course.created_at))),
      course.summary ? h('p', { class: 'summary' }, course.summary) : null,
      course.tags.length ? h('p', { class: 'tags' }, course.tags.map((t) => h('span', { class: 'badge' }, t))) : null,
      !manage ? h('p', { class: 'muted' }, '您可以查看这门课程，但不能管理它。') : null,
      actions.length ? h('div', { class: 'toolbar' }, actions) : null);
  };

  // ---- lessons -------------------------------------------------------------------
  const drawLessons = () => {
    const manage = course.can_manage;
    const draft = course.status === 'draft';
    const add = h('button', { type: 'button', class: 'primary', onclick: async () => {
      if (await editLesson(course, null)) await reload();
    } }, '添加课时');
    clear(lessons,
      h('h2', { id: 'lessons-h' }, '课时'),
      manage && draft ? h('div', { class: 'toolbar' }, add) : null,
      manage && !draft ? h('p', { class: 'muted' }, '课程已发布：课时可以修改内容，但不能再添加或删除。') : null,
      table([
        { title: '序号', class: 'num', cell: (l) => l.position },
        { title: '课时', class: 'lesson-title', cell: (l) => l.url ? h('a', { href: l.url, target: '_blank', rel: 'noopener' }, l.title) : l.title },
        { title: '类型', class: 'nowrap', cell: (l) => lessonKinds[l.kind] || l.kind },
        { title: '内容', cell: (l) => lessonSource(l) },
        { title: '学时', class: 'num', cell: (l) => credit(l.credit_centi) },
        { title: '测验', class: 'nowrap', cell: (l) => h('span', { class: `badge ${l.has_quiz ? 'ok' : ''}` }, l.has_quiz ? '有测验' : '无测验') },
        { title: '操作', cell: (l) => manage ? h('div', { class: 'row-actions' },
          h('button', { type: 'button', onclick: async () => { if (await editLesson(course, l)) await reload(); } }, '编辑'),
          h('button', { type: 'button', onclick: async () => { if (await editQuiz(l)) await reload(); } }, l.has_quiz ? '编辑测验' : '添加测验'),
          draft ? h('button', { type: 'button', class: 'danger', onclick: () => removeLesson(l) }, '删除') : null) : '—' },
      ], course.lessons, { caption: `课时（${course.lessons.length}）`, empty: '还没有课时。发布前至少需要一个课时。', rowAttrs: (l) => ({ dataset: { lesson: l.id } }) }));
  };
  const removeLesson = async (l) => {
    if (!await confirmDialog('删除课时', `删除课时“${l.title}”？其测验也一并删除。`, '删除')) return;
    await busy(null, async () => {
      await api.del(`/v1/lessons/${l.id}`);
      toast('课时已删除。', 'success');
      await reload();
    });
  };

  // ---- assignments ---------------------------------------------------------------
  let orgs = null;
  const loadAssignments = async () => {
    clear(assigns, h('h2', { id: 'assign-h' }, '分配到组织'));
    let list;
    try {
      list = await api.get(`/v1/courses/${courseId}/assignments`, undefined, { signal: ctx.signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      assigns.append(errorBox(e));
      return;
    }
    const manage = course.can_manage;
    const assign = h('button', { type: 'button', class: 'primary', onclick: async () => {
      orgs = orgs || await subtree(ctx);
      if (await assignDialog(course, orgs, list)) await reload();
    } }, '分配课程');
    assigns.append(
      h('p', { class: 'muted' }, '分配到一个组织即覆盖其全部下级组织的党员。'),
      manage ? (course.status === 'published'
        ? h('div', { class: 'toolbar' }, assign)
        : h('p', { class: 'muted' }, '课程发布后才能分配。')) : null,
      table([
        { title: '组织', cell: (a) => a.org_name },
        { title: '要求', cell: (a) => h('span', { class: `badge ${a.required ? 'warn' : ''}` }, a.required ? '必学' : '选学') },
        { title: '截止日期', cell: (a) => h('span', { dataset: { due: a.due_date || '' } }, a.due_date ? fmt.date(`${a.due_date}T12:00:00+08:00`) : '不限') },
        { title: '分配时间', cell: (a) => fmt.dateTime(a.assigned_at) },
        { title: '操作', cell: (a) => manage ? h('button', { type: 'button', class: 'danger', onclick: () => withdraw(a) }, '撤回') : '—' },
      ], list, { caption: `已分配（${list.length}）`, empty: '尚未分配到任何组织。', rowAttrs: (a) => ({ dataset: { org: a.org_id } }) }));
  };
  const withdraw = async (a) => {
    if (!await confirmDialog('撤回分配', `从“${a.org_name}”撤回这门课程？党员已有的学习记录保留。`, '撤回')) return;
    await busy(null, async () => {
      await api.del(`/v1/courses/${courseId}/assignments/${a.org_id}`);
      toast('已撤回。', 'success');
      await reload();
    });
  };

  // ---- funnel --------------------------------------------------------------------
  const loadFunnel = async () => {
    clear(funnel, h('h2', { id: 'funnel-h' }, `学习情况（${ctx.org.name}）`));
    let s;
    try {
      s = await api.get(`/v1/courses/${courseId}/stats`, { org_id: ctx.orgId }, { signal: ctx.signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      funnel.append(errorBox(e));
      return;
    }
    funnel.append(drawFunnel(s));
  };

  drawHead();
  drawLessons();
  await Promise.all([loadAssignments(), loadFunnel()]);
}

function fig(label, value, sub, key) {
  return h('div', { class: 'figure', dataset: key ? { figure: key } : undefined },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
    sub ? h('div', { class: 'sub' }, sub) : null);
}

function lessonSource(l) {
  const parts = [];
  if (l.kind === 'article') parts.push('正文');
  else if (l.media_id) parts.push(h('span', { dataset: { media: l.media_id } }, `已上传文件 #${l.media_id}`));
  else if (l.url) parts.push('外部地址');
  else parts.push(h('span', { class: 'badge bad' }, '缺少内容'));
  if (l.duration_s) parts.push(`，时长 ${duration(l.duration_s)}`);
  if (l.min_reading_s) parts.push(`，至少阅读 ${duration(l.min_reading_s)}`);
  return h('span', {}, parts);
}

// The funnel as figures and plain CSS bars (each bar's width is its share of `assigned`).
function drawFunnel(s) {
  const steps = [
    ['assigned', '已分配', s.assigned],
    ['started', '已开始', s.started],
    ['completed', '已完成', s.completed],
  ];
  if (s.quiz_passed !== null && s.quiz_passed !== undefined) steps.push(['quiz_passed', '测验全部通过', s.quiz_passed]);
  const base = s.assigned || 0;
  const share = (n) => (base ? n / base : 0);
  const bars = h('div', { class: 'funnel', role: 'img', 'aria-label': steps.map(([, l, n]) => `${l} ${n} 人`).join('，') },
    steps.map(([key, label, n]) => {
      const bar = h('span', { class: 'bar' });
      bar.style.width = `${Math.max(share(n) * 100, n ? 1 : 0)}%`;
      return h('div', { class: 'step' },
        h('span', { class: 'step-label' }, label),
        h('span', { class: 'track' }, bar),
        h('span', { class: 'step-value' }, `${fmt.int(n)} 人${base && key !== 'assigned' ? `（${fmt.pct(share(n))}）` : ''}`));
    }));
  return h('div', { class: 'funnel-box' },
    h('div', { class: 'cards' }, steps.map(([key, label, n]) =>
      fig(label, fmt.int(n), key === 'assigned' ? '本组织及下级应学党员' : (base ? `占已分配 ${fmt.pct(share(n))}` : null), key))),
    bars,
    table([
      { title: '课时', cell: (l) => `${l.position}. ${l.title}` },
      { title: '已开始', class: 'num', cell: (l) => fmt.int(l.started) },
      { title: '已完成', class: 'num', cell: (l) => fmt.int(l.completed) },
      { title: '中途放弃', class: 'num', cell: (l) => fmt.int(l.dropped) },
    ], s.lessons, { caption: '各课时', empty: '暂无学习数据。' }));
}

async function editCourse(course, reload) {
  const draft = course.status === 'draft';
  const body = h('div', {},
    field('课程名称', h('input', { name: 'title', required: true, maxlength: 200, value: course.title })),
    field('学时', h('input', { name: 'credit', type: 'number', min: 0, max: 100, step: 0.01, value: credit(course.credit_centi), disabled: !draft }),
      draft ? '整门课程的学时，平均分到各课时。' : '已发布的课程不能修改学时。'),
    field('简介', h('textarea', { name: 'summary', maxlength: 2000, rows: 3, value: course.summary })),
    field('标签', h('input', { name: 'tags', value: course.tags.join('，') }), '用逗号分隔，最多 10 个'));
  const done = await dialog('编辑课程信息', body, {
    submitText: '保存',
    onSubmit: async (form) => {
      const f = formData(form);
      const req = { title: f.title || '', summary: f.summary || '', tags: parseTags(f.tags) };
      if (draft) req.credit_centi = parseCredit(f.credit);
      return api.patch(`/v1/courses/${course.id}`, req);
    },
  });
  if (done) { toast('已保存。', 'success'); await reload(); }
}

async function assignDialog(course, orgs, current) {
  const byOrg = new Map(current.map((a) => [a.org_id, a]));
  const boxes = orgs.map((o) => {
    const cb = h('input', { type: 'checkbox', name: 'org', value: o.id });
    const label = h('label', { class: 'org-choice' }, cb, ` ${o.name}`, byOrg.has(o.id) ? h('small', { class: 'muted' }, '（已分配）') : null);
    label.style.paddingLeft = `${o.level * 1.25}rem`;
    return label;
  });
  const body = h('div', {},
    h('fieldset', { class: 'org-list' }, h('legend', {}, '分配到'), boxes),
    field('截止日期', h('input', { name: 'due_date', type: 'date' }), '可不填；再次分配到同一组织会更新截止日期和要求。'),
    h('div', { class: 'field' }, h('label', {}, h('input', { type: 'checkbox', name: 'required', checked: true }), ' 必学（计入应学课程）')));
  return dialog(`分配“${course.title}”`, body, {
    submitText: '分配',
    onSubmit: async (form) => {
      const ids = Array.from(form.querySelectorAll('input[name=org]:checked')).map((c) => Number(c.value));
      if (!ids.length) throw new Error('请至少选择一个组织。');
      const f = formData(form);
      return api.post(`/v1/courses/${course.id}/assignments`, {
        org_ids: ids,
        required: !!form.querySelector('input[name=required]').checked,
        due_date: f.due_date || null,
      });
    },
  });
}
