// The period picker: month, quarter, year or a range of days, mapped to the statistics
// routes' `period` (`2026-11`, `2026-Q4`, `2026`) or `from`/`to`. With nothing chosen the
// API picks (this year on the server's clock); the page shows the period it answered with.

import { h, field, select } from '../../ui.js';

// The statistics query of the route's query string: {period} or {from, to} or {}.
export function periodQuery(query) {
  const period = query.get('period');
  if (period) return { period };
  const from = query.get('from');
  const to = query.get('to');
  if (from || to) return { from, to };
  return {};
}

function kindOf(q) {
  if (q.from || q.to) return 'range';
  if (!q.period) return 'default';
  if (/^\d{4}-\d{2}$/.test(q.period)) return 'month';
  if (/^\d{4}-Q[1-4]$/.test(q.period)) return 'quarter';
  return 'year';
}

// The form. `onChoose(q)` gets the new query ({} for the default). `fill(period)` puts
// the API's answered period into the inputs not chosen yet.
export function periodPicker(q, onChoose) {
  const kind = select('kind', [
    ['default', '默认（本年度）'], ['month', '按月'], ['quarter', '按季度'], ['year', '按年'], ['range', '自定义区间'],
  ], kindOf(q));
  const month = h('input', { type: 'month', name: 'month', required: true });
  const qYear = h('input', { type: 'number', name: 'quarter_year', min: 2000, max: 2100, step: 1, required: true, class: 'year' });
  const quarter = select('quarter', [['Q1', '第一季度'], ['Q2', '第二季度'], ['Q3', '第三季度'], ['Q4', '第四季度']], 'Q1');
  const year = h('input', { type: 'number', name: 'year', min: 2000, max: 2100, step: 1, required: true, class: 'year' });
  const from = h('input', { type: 'date', name: 'from', required: true });
  const to = h('input', { type: 'date', name: 'to', required: true });

  const k = kindOf(q);
  if (k === 'month') month.value = q.period;
  if (k === 'quarter') { [qYear.value, quarter.value] = q.period.split('-'); }
  if (k === 'year') year.value = q.period;
  if (k === 'range') { from.value = q.from || ''; to.value = q.to || ''; }

  const groups = {
    month: h('div', { class: 'period-inputs' }, field('月份', month)),
    quarter: h('div', { class: 'period-inputs' }, field('年份', qYear), field('季度', quarter)),
    year: h('div', { class: 'period-inputs' }, field('年份', year)),
    range: h('div', { class: 'period-inputs' }, field('开始日期', from), field('结束日期', to, '须在同一年内')),
  };
  const show = () => {
    for (const [name, g] of Object.entries(groups)) {
      g.hidden = kind.value !== name;
      for (const input of g.querySelectorAll('input, select')) input.disabled = kind.value !== name;
    }
  };
  kind.addEventListener('change', show);
  show();

  const form = h('form', { class: 'toolbar period-picker', 'aria-label': '统计期间' },
    field('统计期间', kind), Object.values(groups),
    h('button', { type: 'submit', class: 'primary' }, '查询'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    switch (kind.value) {
      case 'month': onChoose({ period: month.value }); break;
      case 'quarter': onChoose({ period: `${qYear.value}-${quarter.value}` }); break;
      case 'year': onChoose({ period: String(year.value) }); break;
      case 'range': onChoose({ from: from.value, to: to.value }); break;
      default: onChoose({});
    }
  });

  // Defaults for the inputs from the period the API answered with.
  const fill = (period) => {
    const y = period.from.slice(0, 4);
    if (!month.value) month.value = period.from.slice(0, 7);
    if (!qYear.value) qYear.value = y;
    if (!year.value) year.value = y;
    if (!from.value) from.value = period.from;
    if (!to.value) to.value = period.to;
  };
  return { form, fill };
}
