// The digest preview: the study briefing of a period as the group chat will receive it —
// the figures, the WeCom or DingTalk message drawn as the chat shows it, and the chart image
// (fetched with the token, shown from a blob: URL).

import { api } from '../../api.js';
import { h, clear, field, select, errorBox, errorText, fmt } from '../../ui.js';
import { markdown } from './words.js';

function pad(n) { return String(n).padStart(2, '0'); }

// Periods to choose from around the default one (the month just ended, `YYYY-MM`): this
// month so far, the twelve months before, the quarters and years they touch.
function periodOptions(label) {
  const m = /^(\d{4})-(\d{2})$/.exec(label);
  if (!m) return [['', `默认（${label}）`]];
  let y = Number(m[1]);
  let mo = Number(m[2]) + 1;
  if (mo > 12) { mo = 1; y += 1; }
  const months = [];
  const quarters = [];
  const years = [];
  for (let i = 0; i < 13; i += 1) {
    const value = `${y}-${pad(mo)}`;
    const text = i === 0 ? `${y}年${mo}月（本月至今）` : `${y}年${mo}月`;
    months.push([value, text]);
    const q = `${y}-Q${Math.ceil(mo / 3)}`;
    if (!quarters.some(([v]) => v === q)) quarters.push([q, `${y}年第${Math.ceil(mo / 3)}季度`]);
    if (!years.some(([v]) => v === String(y))) years.push([String(y), `${y}年全年`]);
    mo -= 1;
    if (mo === 0) { mo = 12; y -= 1; }
  }
  return [['', `上个月（${label}）`], ...months.filter(([v]) => v !== label), ...quarters, ...years];
}

function figure(key, label, value, sub) {
  return h('div', { class: 'figure', dataset: { figure: key } },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value' }, value),
    sub ? h('div', { class: 'sub' }, sub) : null);
}

function figures(r) {
  const c = r.credit;
  const meetings = r.attendance.reduce((n, k) => n + k.occurrences, 0);
  return h('div', { class: 'cards digest-figures' },
    figure('members', '党员', `${fmt.int(r.members)} 人`),
    figure('active', '本期活跃', `${fmt.int(r.active)} 人`),
    figure('credit', `${c.year} 年学时`, `${fmt.hours(c.earned_centi / 100)} 小时`,
      `任务 ${fmt.hours(c.quota_centi / 100)} 小时${c.quota_centi ? `，完成 ${fmt.pct(c.earned_centi / c.quota_centi)}` : ''}`),
    figure('met', '已达标', `${fmt.int(c.met)} 人`),
    figure('on_track', '进度正常', `${fmt.int(c.on_track)} 人`),
    figure('behind', '进度落后', `${fmt.int(c.behind)} 人`),
    figure('meetings', '本期组织生活', `${fmt.int(meetings)} 次`));
}

export function digestSection(ctx, { preferDingTalk }) {
  const { orgId, org, signal } = ctx;
  const period = select('period', [['', '上个月']], '');
  const format = select('format', [['wecom', '企业微信群'], ['dingtalk', '钉钉群']], preferDingTalk ? 'dingtalk' : 'wecom');
  const body = h('div', { class: 'digest-body', 'aria-live': 'polite' }, h('p', { class: 'loading' }, '正在生成简报…'));
  const section = h('section', { class: 'pushes-digest', 'aria-labelledby': 'pushes-digest-h' },
    h('h2', { id: 'pushes-digest-h' }, '简报预览'),
    h('p', { class: 'muted' }, '定时推送发出的就是这份学习简报：先发文字，再发学时图。这里可以先看看效果。'),
    h('div', { class: 'toolbar' }, field('统计期间', period), field('按哪种群显示', format)),
    body);
  let chartUrl = null;
  let seq = 0;
  let optionsFor = null;
  signal.addEventListener('abort', () => { if (chartUrl) URL.revokeObjectURL(chartUrl); });

  function bubble(label, ...content) {
    return h('figure', { class: 'bubble' }, h('figcaption', {}, label), h('div', { class: 'bubble-body' }, content));
  }

  let last = null; // the digest on screen
  let chartState = null; // {url} or {error}, for `last`

  async function chart(mine) {
    const query = period.value ? { period: period.value } : undefined;
    try {
      const url = await api.objectUrl(`/v1/orgs/${orgId}/digest/chart.png`, query);
      if (signal.aborted || mine !== seq) { URL.revokeObjectURL(url); return; }
      if (chartUrl) URL.revokeObjectURL(chartUrl);
      chartUrl = url;
      chartState = { url };
    } catch (e) {
      if (signal.aborted || mine !== seq) return;
      chartState = { error: e };
    }
    draw();
  }

  function chartView(r) {
    const what = org.kind === 'branch' || org.kind === 'party_group' ? '每位党员的学时' : '各下级组织的人均学时';
    if (!chartState) return h('div', { class: 'chart-holder' }, h('p', { class: 'loading' }, '正在生成学时图…'));
    if (chartState.error) {
      return h('div', { class: 'chart-holder' },
        h('p', { class: 'error-box', role: 'alert' }, `学时图无法生成：${errorText(chartState.error)}`));
    }
    return h('div', { class: 'chart-holder' }, h('img', {
      class: 'digest-chart', src: chartState.url,
      alt: `${r.org_name} ${r.period.label} 学时图：${what}与年度任务对比（条形图）`,
    }));
  }

  function draw() {
    if (!last) return;
    const d = last;
    const r = d.report;
    const dingtalk = format.value === 'dingtalk';
    clear(body,
      h('p', { class: 'period-line' }, `统计期间：${fmt.date(r.period.from)} 至 ${fmt.date(r.period.to)}（${r.period.label}）；学时按 ${r.credit.year} 年全年任务计算。`),
      figures(r),
      h('div', { class: `digest-grid ${dingtalk ? 'one' : 'two'}` },
        dingtalk
          ? bubble(`钉钉消息：${d.dingtalk_markdown.title}`, markdown(d.dingtalk_markdown.text), chartView(r),
            h('p', { class: 'muted note' }, '学时图附在消息末尾（服务器配置了对外网址时）。'))
          : [bubble('第 1 条：文字', markdown(d.wecom_markdown)), bubble('第 2 条：学时图', chartView(r))]),
      h('details', { class: 'raw' },
        h('summary', {}, '查看消息原文'),
        h('pre', {}, dingtalk ? d.dingtalk_markdown.text : d.wecom_markdown)));
  }

  async function load() {
    const mine = ++seq;
    last = null;
    chartState = null;
    clear(body, h('p', { class: 'loading', role: 'status' }, '正在生成简报…'));
    let d;
    try {
      d = await api.get(`/v1/orgs/${orgId}/digest`, period.value ? { period: period.value } : undefined, { signal });
    } catch (e) {
      if (!signal.aborted && mine === seq) clear(body, errorBox(e));
      return;
    }
    if (mine !== seq) return;
    if (!optionsFor) {
      optionsFor = d.report.period.label;
      clear(period, periodOptions(optionsFor).map(([v, t]) => h('option', { value: v }, t)));
    }
    last = d;
    draw();
    chart(mine);
  }

  period.addEventListener('change', load);
  format.addEventListener('change', draw);
  return { el: section, load };
}
