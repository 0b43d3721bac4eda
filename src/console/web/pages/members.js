// 党员: the members of an org's subtree — search and filter (as GET /v1/orgs/{id}/members
// takes them, cursor-paginated), add, edit, transfer, change status, a one-time login code,
// the roles of the org (grant, revoke), and the CSV import (dry run first, then apply).

import { api } from '../api.js';
import { h, clear, field, select, table, busy, dialog, toast, errorBox, showError, fmt, names, nameOf, pageStyle } from '../ui.js';
import { importPanel } from './members/import.js';
import { memberForm, addBody, patchBody } from './members/forms.js';

const STATUSES = ['active', 'migrant', 'suspended'];
const ALL_STATUSES = ['active', 'migrant', 'suspended', 'left'];
const PAGE_SIZE = 50;

// The orgs of a tree, depth first, each with its depth under the root.
function flatten(node, depth = 0, out = []) {
  out.push({ ...node, level: depth });
  for (const c of node.children || []) flatten(c, depth + 1, out);
  return out;
}

const canHoldMembers = (o) => o.kind === 'branch' || o.kind === 'party_group';
const indent = (o) => `${'　'.repeat(o.level)}${o.name}`;

export async function render(ctx) {
  pageStyle('members');
  ctx.setTitle('党员');
  const { root, org, signal } = ctx;

  // The subtree (for the sub-org filter, adding and granting) and every org the caller
  // manages (for transfers), loaded once.
  const tree = await api.get(`/v1/orgs/${org.id}/tree`, { depth: 8 }, { signal });
  const subtree = flatten(tree);
  const rootIds = [...new Set(ctx.me.roles.map((r) => r.org_id))];
  let scopeOrgs = null;
  const inScope = async () => {
    if (scopeOrgs) return scopeOrgs;
    const trees = await Promise.all(rootIds.map((id) => api.get(`/v1/orgs/${id}/tree`, { depth: 8 }).catch(() => null)));
    const seen = new Map();
    for (const t of trees.filter(Boolean)) for (const o of flatten(t)) if (!seen.has(o.id)) seen.set(o.id, o);
    scopeOrgs = [...seen.values()].sort((a, b) => a.path.localeCompare(b.path));
    return scopeOrgs;
  };

  // ---- filters (kept in the address bar's query) -------------------------------------
  const q = ctx.query;
  const qInput = h('input', { name: 'q', type: 'search', maxlength: 64, value: q.get('q') || '', placeholder: '姓名或手机号' });
  const catSel = select('category', [['', '全部类别'], ...Object.entries(names.category)], q.get('category') || '');
  const statusSel = select('status', [['', '全部状态'], ...STATUSES.map((s) => [s, names.memberStatus[s]])], q.get('status') || '');
  const cadreSel = select('is_cadre', [['', '全部'], ['true', '是'], ['false', '否']], q.get('is_cadre') || '');
  const orgSel = select('org', subtree.map((o) => [o.id, o.id === org.id ? `${o.name}（全部）` : indent(o)]), q.get('org') || org.id);
  const filterForm = h('form', { class: 'toolbar filters', role: 'search', 'aria-label': '查找党员' },
    field('搜索', qInput), field('所在组织', orgSel), field('类别', catSel), field('状态', statusSel), field('干部', cadreSel),
    h('button', { type: 'submit', class: 'primary' }, '查询'),
    h('button', { type: 'button', onclick: () => { qInput.value = ''; for (const s of [catSel, statusSel, cadreSel]) s.value = ''; orgSel.value = org.id; load(); } }, '清除'));
  filterForm.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  for (const s of [catSel, statusSel, cadreSel, orgSel]) s.addEventListener('change', () => load());

  const filters = () => ({
    q: qInput.value.trim(), category: catSel.value, status: statusSel.value, is_cadre: cadreSel.value,
  });

  // ---- the list ------------------------------------------------------------------------
  const summary = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const listBox = h('div', { class: 'members-list' });
  const more = h('button', { type: 'button', hidden: true }, '加载更多');
  let rows = [];
  let cursor = null;
  let generation = 0;

  const columns = [
    { title: '姓名', cell: (m) => h('button', { type: 'button', class: 'link', onclick: () => showDetail(m) }, m.name) },
    { title: '手机号', cell: (m) => m.phone },
    { title: '所在组织', cell: (m) => m.org_name },
    { title: '类别', cell: (m) => nameOf(names.category, m.category) },
    { title: '状态', cell: (m) => h('span', { class: `badge ${m.status === 'active' ? 'ok' : m.status === 'migrant' ? 'warn' : 'bad'}` }, nameOf(names.memberStatus, m.status)) },
    { title: '干部', cell: (m) => (m.is_cadre ? '是' : '否') },
    { title: '微信', cell: (m) => (m.wechat_bound ? '已绑定' : '未绑定') },
    {
      title: '操作', class: 'actions-cell', cell: (m) => h('div', { class: 'row-actions' },
        h('button', { type: 'button', 'aria-label': `编辑 ${m.name}`, onclick: () => editMember(m) }, '编辑'),
        h('button', { type: 'button', 'aria-label': `变更状态 ${m.name}`, onclick: () => changeStatus(m) }, '状态'),
        h('button', { type: 'button', 'aria-label': `转移 ${m.name}`, onclick: () => transfer(m) }, '转移'),
        h('button', { type: 'button', 'aria-label': `授予职务 ${m.name}`, onclick: () => grantRole(m) }, '职务'),
        h('button', { type: 'button', 'aria-label': `登录码 ${m.name}`, onclick: () => loginCode(m) }, '登录码')),
    },
  ];

  const draw = () => {
    clear(listBox, table(columns, rows, {
      caption: '党员名单',
      empty: '没有符合条件的党员',
      rowAttrs: (m) => ({ dataset: { user: m.user_id } }),
    }));
    summary.textContent = `已显示 ${rows.length} 人${cursor ? '，还有更多' : ''}`;
    more.hidden = !cursor;
  };

  async function fetchPage(after) {
    const target = Number(orgSel.value) || org.id;
    return api.get(`/v1/orgs/${target}/members`, { ...filters(), limit: PAGE_SIZE, cursor: after }, { signal });
  }

  async function load() {
    const mine = ++generation;
    // Remember the filters in the address without reloading the page.
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(filters())) if (v) params.set(k, v);
    if (Number(orgSel.value) !== org.id) params.set('org', orgSel.value);
    history.replaceState(null, '', ctx.href('members', org.id, params));
    summary.textContent = '正在加载…';
    try {
      const page = await fetchPage(null);
      if (mine !== generation) return;
      rows = page.items;
      cursor = page.next_cursor || null;
      draw();
    } catch (e) {
      if (signal.aborted) return;
      clear(listBox, errorBox(e));
      summary.textContent = '';
    }
  }

  more.addEventListener('click', () => busy(more, async () => {
    const mine = generation;
    const page = await fetchPage(cursor);
    if (mine !== generation) return;
    rows = rows.concat(page.items);
    cursor = page.next_cursor || null;
    draw();
  }));

  const replaceRow = (m) => {
    const i = rows.findIndex((r) => r.user_id === m.user_id);
    if (i >= 0) { rows[i] = m; draw(); }
  };

  // ---- member actions ----------------------------------------------------------------

  async function addMember() {
    const targets = subtree.filter(canHoldMembers);
    if (!targets.length) { toast('该组织下没有可以接收党员的支部或党小组', 'error'); return; }
    const form = memberForm(null, targets.map((o) => [o.id, indent(o)]), canHoldMembers(org) ? org.id : targets[0].id);
    const added = await dialog('添加党员', form.body, {
      submitText: '添加',
      onSubmit: async (f) => {
        const { orgId, body } = addBody(f);
        return api.post(`/v1/orgs/${orgId}/members`, body);
      },
    });
    if (added) {
      toast(`已添加 ${added.name}`, 'success');
      await Promise.all([load(), loadRoles()]);
    }
  }

  async function editMember(m) {
    const form = memberForm(m);
    const updated = await dialog(`编辑党员：${m.name}`, form.body, {
      submitText: '保存',
      onSubmit: async (f) => {
        const body = patchBody(f, m);
        if (!Object.keys(body).length) return m;
        return api.patch(`/v1/members/${m.user_id}`, body);
      },
    });
    if (updated) { toast(`已保存 ${updated.name}`, 'success'); replaceRow(updated); }
  }

  async function changeStatus(m) {
    const status = select('status', ALL_STATUSES.map((s) => [s, names.memberStatus[s]]), m.status);
    const date = h('input', { name: 'date', type: 'date' });
    const reason = h('input', { name: 'reason', maxlength: 200 });
    const dateField = field('最后一天', date, '仅“已离开”需要；不填为今天。离开后党员从名单中移除，历史保留。');
    dateField.hidden = m.status !== 'left';
    status.addEventListener('change', () => { dateField.hidden = status.value !== 'left'; });
    const done = await dialog(`变更状态：${m.name}`, h('div', {},
      h('p', {}, `当前状态：${nameOf(names.memberStatus, m.status)}`),
      field('新状态', status), dateField, field('原因', reason)), {
      submitText: '确定',
      onSubmit: async () => {
        const body = { status: status.value };
        if (reason.value.trim()) body.reason = reason.value.trim();
        if (status.value === 'left' && date.value) body.date = date.value;
        const r = await api.put(`/v1/members/${m.user_id}/status`, body);
        return r || { left: true };
      },
    });
    if (!done) return;
    if (done.left) { toast(`${m.name} 已离开本组织`, 'success'); await load(); } else {
      toast(`${m.name} 的状态已改为${nameOf(names.memberStatus, done.status)}`, 'success');
      replaceRow(done);
    }
  }

  async function transfer(m) {
    let orgs;
    try { orgs = (await inScope()).filter((o) => canHoldMembers(o) && o.id !== m.org_id); } catch (e) { showError(e); return; }
    if (!orgs.length) { toast('您的管理范围内没有其他支部或党小组', 'error'); return; }
    const to = select('to_org_id', orgs.map((o) => [o.id, o.name]), '');
    const date = h('input', { name: 'date', type: 'date' });
    const reason = h('input', { name: 'reason', maxlength: 200 });
    const moved = await dialog(`转移党员：${m.name}`, h('div', {},
      h('p', {}, `现在：${m.org_name}`),
      field('转入组织', to), field('转入日期', date, '不填为今天；原组织的党籍到前一天为止，历史保留。'),
      field('原因', reason)), {
      submitText: '转移',
      onSubmit: async () => {
        const body = { to_org_id: Number(to.value) };
        if (date.value) body.date = date.value;
        if (reason.value.trim()) body.reason = reason.value.trim();
        return api.post(`/v1/members/${m.user_id}/transfer`, body);
      },
    });
    if (moved) { toast(`${m.name} 已转入 ${moved.org_name}`, 'success'); await load(); }
  }

  async function loginCode(m) {
    const issued = await dialog(`一次性登录码：${m.name}`, h('div', {},
      h('p', {}, '由组织添加或导入的党员没有密码。生成的登录码两小时内有效、只能使用一次，党员用它自己设置密码。'),
      h('p', {}, '再次生成会使之前的登录码失效；本操作记录在该党员的账号记录中。')), {
      submitText: '生成登录码',
      onSubmit: () => api.post(`/v1/members/${m.user_id}/login-code`, {}),
    });
    if (!issued) return;
    await dialog(`${m.name} 的登录码`, h('div', { class: 'login-code' },
      h('p', { class: 'code', 'aria-label': `登录码 ${issued.code.split('').join(' ')}` }, issued.code),
      h('p', {}, `有效期至 ${fmt.dateTime(issued.expires_at)}。请当面或电话告知本人，此码不会再次显示。`)), { submitText: '关闭' });
  }

  async function showDetail(m) {
    let d;
    try { d = await api.get(`/v1/members/${m.user_id}`); } catch (e) { showError(e); return; }
    await dialog(`${d.name} · ${d.phone}`, h('div', {},
      h('p', {}, `${nameOf(names.category, d.category)} · ${nameOf(names.memberStatus, d.status)}${d.is_cadre ? ' · 干部' : ''}`,
        d.joined_party_on ? ` · 入党 ${d.joined_party_on}` : '', d.birth_date ? ` · 出生 ${d.birth_date}` : ''),
      table([
        { title: '组织', cell: (x) => x.org_name },
        { title: '类别', cell: (x) => nameOf(names.category, x.category) },
        { title: '状态', cell: (x) => nameOf(names.memberStatus, x.status) },
        { title: '起', cell: (x) => x.from_date },
        { title: '止', cell: (x) => x.to_date || '至今' },
        { title: '说明', cell: (x) => x.end_reason || '' },
      ], d.history, { caption: '组织关系记录' }),
      table([
        { title: '组织', cell: (x) => x.org_name },
        { title: '职务', cell: (x) => nameOf(names.role, x.role) },
        { title: '授予时间', cell: (x) => fmt.dateTime(x.granted_at) },
      ], d.roles, { caption: '职务', empty: '无' })), { submitText: '关闭' });
  }

  // ---- roles -------------------------------------------------------------------------

  const rolesBox = h('div', {});
  let roleRows = [];

  async function loadRoles() {
    try {
      roleRows = await api.get(`/v1/orgs/${org.id}/roles`, undefined, { signal });
    } catch (e) {
      if (signal.aborted) return;
      clear(rolesBox, errorBox(e));
      return;
    }
    clear(rolesBox, table([
      { title: '姓名', cell: (r) => r.user_name },
      { title: '组织', cell: (r) => r.org_name },
      { title: '职务', cell: (r) => nameOf(names.role, r.role) },
      { title: '授予时间', cell: (r) => fmt.dateTime(r.granted_at) },
      {
        title: '操作', cell: (r) => h('button', {
          type: 'button', class: 'danger', 'aria-label': `撤销 ${r.user_name} 的${nameOf(names.role, r.role)}（${r.org_name}）`,
          onclick: () => revoke(r),
        }, '撤销'),
      },
    ], roleRows, { caption: `${org.name}及下级组织的职务`, empty: '暂无职务' }));
  }

  async function revoke(r) {
    const ok = await dialog('撤销职务', h('p', {}, `撤销 ${r.user_name} 在${r.org_name}的“${nameOf(names.role, r.role)}”职务？`), {
      submitText: '撤销',
      onSubmit: () => api.del(`/v1/orgs/${r.org_id}/roles/${r.user_id}/${r.role}`),
    });
    if (ok) { toast('已撤销', 'success'); await loadRoles(); }
  }

  async function grantRole(m) {
    // A role on an org whose subtree holds the member: the member's org and those above it
    // within this page's subtree.
    const home = subtree.find((o) => o.id === m.org_id);
    const orgs = home ? subtree.filter((o) => home.path.startsWith(o.path)) : [org];
    const orgPick = select('org', orgs.map((o) => [o.id, o.name]), orgs[orgs.length - 1].id);
    const role = select('role', Object.entries(names.role), 'organizer');
    const held = roleRows.filter((r) => r.user_id === m.user_id);
    const granted = await dialog(`授予职务：${m.name}`, h('div', {},
      held.length ? h('p', {}, `现任：${held.map((r) => `${r.org_name}${nameOf(names.role, r.role)}`).join('、')}`) : null,
      field('组织', orgPick), field('职务', role)), {
      submitText: '授予',
      onSubmit: () => api.post(`/v1/orgs/${orgPick.value}/roles`, { user_id: m.user_id, role: role.value }),
    });
    if (granted) { toast(`已授予 ${m.name} ${nameOf(names.role, role.value)}`, 'success'); await loadRoles(); }
  }

  // ---- layout ------------------------------------------------------------------------

  const addButton = h('button', { type: 'button', class: 'primary', onclick: () => addMember() }, '添加党员');
  const importSection = importPanel(org, {
    signal,
    onApplied: () => Promise.all([load(), loadRoles()]),
    orgName: (id) => (subtree.find((o) => o.id === id) || { name: `#${id}` }).name,
  });
  const importButton = h('button', {
    type: 'button',
    onclick: () => {
      importSection.scrollIntoView({ block: 'start' });
      importSection.querySelector('input[type=file]').focus();
    },
  }, '导入名单…');

  root.append(
    h('h1', {}, `党员 · ${org.name}`),
    h('div', { class: 'toolbar page-actions' }, importButton, addButton),
    filterForm,
    summary,
    listBox,
    more,
    importSection,
    h('section', { class: 'card', 'aria-labelledby': 'roles-title' },
      h('h2', { id: 'roles-title' }, '职务'),
      h('p', { class: 'muted' }, '在党员名单的“职务”按钮授予；书记、委员等可以登录本后台。'),
      rolesBox),
  );
  await Promise.all([load(), loadRoles()]);
}

