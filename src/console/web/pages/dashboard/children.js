// The child orgs ranked (`/stats/children`): a stacked bar chart of their members by
// pace (Chart.js, the vendored global `Chart`), and the same figures in a table.

import { api } from '../../api.js';
import { h, clear, field, select, table, errorBox } from '../../ui.js';
import { hours, int, pct } from './format.js';

const SORTS = [
  ['-behind_rate', '落后比例（高→低）'],
  ['behind_rate', '落后比例（低→高）'],
  ['-met_rate', '达标比例（高→低）'],
  ['-active_rate', '活跃比例（高→低）'],
  ['-attendance_rate', '出勤率（高→低）'],
  ['-required_rate', '必修课完成率（高→低）'],
  ['name', '组织顺序'],
];

const COLORS = { met: '#1a7f37', on_track: '#d08a00', behind: '#c8102e' };

// Waits for the deferred classic script that defines `window.Chart`.
async function chartLib(signal) {
  for (let i = 0; i < 200; i += 1) {
    if (window.Chart) return window.Chart;
    if (signal.aborted) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

function summary(items) {
  if (!items.length) return '没有下级组织';
  return `各下级组织党员学时进度（人）：${items.map((s) =>
    `${s.org_name} 已达标 ${s.credit.met}、进度正常 ${s.credit.on_track}、进度落后 ${s.credit.behind}`).join('；')}`;
}

function childrenTable(items) {
  const num = (title, cell, col) => ({ title, class: 'num', cell: (s) => h('span', { dataset: { col } }, cell(s)) });
  return table([
    { title: '名次', class: 'num', cell: (_, i) => String(i + 1) },
    { title: '组织', cell: (s) => h('span', { dataset: { col: 'org_name' } }, s.org_name) },
    num('党员', (s) => int(s.members.total), 'members'),
    num('已获学时', (s) => hours(s.credit.earned_centi), 'earned'),
    num('应完成学时', (s) => hours(s.credit.quota_centi), 'quota'),
    num('已达标', (s) => int(s.credit.met), 'met'),
    num('进度正常', (s) => int(s.credit.on_track), 'on_track'),
    num('进度落后', (s) => int(s.credit.behind), 'behind'),
    num('活跃党员', (s) => int(s.active), 'active'),
    num('必修课完成率', (s) => pct(s.required_courses.rate), 'required_rate'),
    num('六个月无组织生活', (s) => int(s.no_org_life_6m), 'no_org_life_6m'),
  ], items, { caption: '下级组织排名（与图表数据相同）', empty: '没有下级组织', rowAttrs: (s) => ({ dataset: { org: s.org_id } }) });
}

export function childrenSection(ctx, q) {
  const sort = select('sort', SORTS, '-behind_rate');
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'loading', role: 'status' }, '正在加载…'));
  const section = h('section', { class: 'card', 'aria-labelledby': 'dash-children', dataset: { section: 'children' } },
    h('h2', { id: 'dash-children' }, '下级组织排名'),
    h('div', { class: 'toolbar' }, field('排序', sort)),
    body);
  let chart = null;
  let generation = 0;
  ctx.signal.addEventListener('abort', () => { if (chart) chart.destroy(); });

  const load = async () => {
    generation += 1;
    const mine = generation;
    let data;
    try {
      data = await api.get(`/v1/orgs/${ctx.orgId}/stats/children`, { ...q, sort: sort.value }, { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted || mine !== generation) return;
      clear(body, errorBox(e));
      return;
    }
    if (ctx.signal.aborted || mine !== generation) return;
    if (chart) { chart.destroy(); chart = null; }
    const items = data.items;
    const canvas = h('canvas', { role: 'img', 'aria-label': summary(items), dataset: { rendered: 'false' } });
    const box = h('div', { class: 'chart-box' }, canvas);
    box.style.height = `${Math.max(160, 44 * items.length + 90)}px`; // (CSP: no style attributes)
    clear(body, items.length ? box : null, h('div', { dataset: { childrenTable: data.sort } }, childrenTable(items)));
    if (!items.length) return;
    const Chart = await chartLib(ctx.signal);
    if (ctx.signal.aborted || mine !== generation) return;
    if (!Chart) {
      box.replaceWith(h('p', { class: 'muted' }, '图表组件未能加载，请看下表。'));
      return;
    }
    const dataset = (key, label) => ({ label, data: items.map((s) => s.credit[key]), backgroundColor: COLORS[key], stack: 'pace' });
    chart = new Chart(canvas, {
      type: 'bar',
      data: {
        labels: items.map((s) => s.org_name),
        datasets: [dataset('met', '已达标'), dataset('on_track', '进度正常'), dataset('behind', '进度落后')],
      },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        animation: { duration: 300, onComplete: () => { canvas.dataset.rendered = 'true'; } },
        scales: {
          x: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: '党员人数' } },
          y: { stacked: true },
        },
        plugins: {
          legend: { position: 'top' },
          tooltip: { mode: 'index', intersect: false },
        },
      },
    });
  };
  sort.addEventListener('change', load);
  return { section, load };
}
