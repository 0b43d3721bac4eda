// The members behind on credit hours (`/stats/members?filter=behind`, lowest credit
// first), paged with the API's cursor.

import { api } from '../../api.js';
import { h, clear, table, errorBox, fmt, names, nameOf } from '../../ui.js';
import { hours, pct, paceName } from './format.js';

const PAGE = 20;

export function behindSection(ctx, q) {
  const body = h('div', {}, h('p', { class: 'loading', role: 'status' }, '正在加载…'));
  const section = h('section', { class: 'card', 'aria-labelledby': 'dash-behind', dataset: { section: 'behind' } },
    h('h2', { id: 'dash-behind' }, '学时进度落后的党员'),
    h('p', { class: 'hint' }, '低于全年均衡进度（按今天应获学时）的党员，已获学时最少的在前。'),
    body);
  // Cursors of the pages seen: cursors[i] opens page i+1 (null for the first).
  const cursors = [null];
  let page = 0;

  const load = async () => {
    let data;
    try {
      data = await api.get(`/v1/orgs/${ctx.orgId}/stats/members`,
        { ...q, filter: 'behind', sort: 'credit', limit: PAGE, cursor: cursors[page] }, { signal: ctx.signal });
    } catch (e) {
      if (!ctx.signal.aborted) clear(body, errorBox(e));
      return;
    }
    if (ctx.signal.aborted) return;
    if (data.next_cursor) cursors[page + 1] = data.next_cursor;
    const rows = data.items;
    const prev = h('button', { type: 'button', disabled: page === 0, onclick: () => { page -= 1; load(); } }, '上一页');
    const next = h('button', { type: 'button', disabled: !data.next_cursor, onclick: () => { page += 1; load(); } }, '下一页');
    clear(body,
      table([
        { title: '姓名', cell: (r) => r.name },
        { title: '所在组织', cell: (r) => r.org_name },
        { title: '类别', cell: (r) => `${nameOf(names.category, r.category)}${r.is_cadre ? '（干部）' : ''}` },
        { title: '已获学时', class: 'num', cell: (r) => hours(r.credit_centi) },
        { title: '按进度应获', class: 'num', cell: (r) => hours(r.expected_centi) },
        { title: '年度应完成', class: 'num', cell: (r) => hours(r.quota_centi) },
        { title: '进度', cell: (r) => h('span', { class: `badge ${r.pace}` }, paceName[r.pace] || r.pace) },
        { title: '必修课', class: 'num', cell: (r) => `${r.required_done}/${r.required_total}` },
        { title: '出勤率', class: 'num', cell: (r) => pct(r.attendance.rate) },
        { title: '最近活动', cell: (r) => (r.last_active_at ? fmt.date(r.last_active_at) : '无') },
        { title: '组织生活', cell: (r) => (r.no_org_life_6m ? h('span', { class: 'badge bad' }, '六个月未参加') : '正常') },
      ], rows, { caption: `第 ${page + 1} 页`, empty: '没有进度落后的党员', rowAttrs: (r) => ({ dataset: { user: r.user_id } }) }),
      h('nav', { class: 'pager', 'aria-label': '落后党员分页' }, prev, h('span', { class: 'muted' }, `第 ${page + 1} 页`), next));
  };
  return { section, load };
}
