// The pushes page's words: Chinese names of the push API's enum values, schedules said as a
// secretary would say them, and the robots' markdown drawn as the group chat shows it.

import { h } from '../../ui.js';

export const kindNames = {
  wecom_robot: '企业微信群机器人',
  dingtalk_robot: '钉钉群机器人',
  webhook: 'Webhook（其他平台）',
};

export const purposeNames = {
  digest: '学习简报',
  test: '测试消息',
  alert: '会议提醒',
  reminder: '党员微信提醒',
};

export const statusNames = {
  pending: '等待发送',
  delivered: '已送达',
  dead: '发送失败',
  cancelled: '已取消',
};

export const statusClass = { pending: 'warn', delivered: 'ok', dead: 'bad', cancelled: '' };

export const outcomeNames = {
  sent: '成功',
  retry: '暂时失败，稍后重试',
  failed: '被拒收，不再重试',
  broken: '地址或密钥无效',
  refused: '地址不允许',
};

export const outcomeClass = { sent: 'ok', retry: 'warn', failed: 'bad', broken: 'bad', refused: 'bad' };

export const WEEKDAYS = ['周一', '周二', '周三', '周四', '周五', '周六', '周日'];

export const frequencyNames = { daily: '每天', weekly: '每周', monthly: '每月' };

// A time zone said for people: Asia/Shanghai is 北京时间.
export function zoneWords(tz) {
  return !tz || tz === 'Asia/Shanghai' ? '北京时间' : `${tz} 时间`;
}

// "每月 1 日 09:00 发送上个月的学习简报" — what a schedule sends when (see src/push/schedule.rs:
// daily covers the day before, weekly the last Monday–Sunday, monthly the month before).
export function scheduleWords(s, tz) {
  const at = `${s.time}（${zoneWords(tz)}）`;
  switch (s.frequency) {
    case 'daily':
      return `每天 ${at} 发送前一天的学习简报`;
    case 'weekly':
      return `每${WEEKDAYS[(s.weekday || 1) - 1]} ${at} 发送上一周（周一至周日）的学习简报`;
    case 'monthly':
      return `每月 ${s.month_day || 1} 日 ${at} 发送上个月的学习简报`;
    default:
      return `${s.frequency} ${at}`;
  }
}

// ---- robot markdown -------------------------------------------------------------------
// The subset the digest and test messages use: `### ` headings, `> ` quotes, `- ` items,
// `**bold**`, WeCom's `<font color="warning|info|comment">`, links and images. Built as
// elements (never innerHTML), so nothing in a message can run in the console.

const INLINE = /\*\*(.+?)\*\*|<font color="(\w+)">([\s\S]*?)<\/font>|!\[([^\]]*)\]\(([^)]*)\)|\[([^\]]+)\]\(([^)]*)\)/g;

function inline(text) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1] !== undefined) out.push(h('strong', {}, inline(m[1])));
    else if (m[2] !== undefined) out.push(h('span', { class: `md-font md-${m[2]}` }, inline(m[3])));
    else if (m[4] !== undefined) out.push(h('span', { class: 'md-image' }, `［图片${m[4] ? '：' + m[4] : ''}］`));
    else out.push(h('span', { class: 'md-link' }, m[6]));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

export function markdown(text) {
  const box = h('div', { class: 'md' });
  let list = null;
  let quote = null;
  for (const line of String(text || '').split('\n')) {
    if (!line.startsWith('- ')) list = null;
    if (!line.startsWith('>')) quote = null;
    if (line.trim() === '') continue;
    const head = /^(#{1,6})\s+(.*)$/.exec(line);
    if (head) {
      box.append(h('p', { class: `md-h md-h${head[1].length}` }, inline(head[2])));
    } else if (line.startsWith('- ')) {
      if (!list) { list = h('ul', {}); box.append(list); }
      list.append(h('li', {}, inline(line.slice(2))));
    } else if (line.startsWith('>')) {
      if (!quote) { quote = h('blockquote', {}); box.append(quote); }
      quote.append(h('p', {}, inline(line.replace(/^>\s?/, ''))));
    } else {
      box.append(h('p', {}, inline(line)));
    }
  }
  return box;
}

// An error as the API reports it, with any robot credential in a URL it quotes masked
// (`…send?key=…`): the secrets of a channel are never shown back, not even in an error.
export function redact(text) {
  if (text === null || text === undefined) return text;
  return String(text).replace(/([?&](?:key|access_token|sign|secret|timestamp)=)[^&\s)"'，）]+/gi, '$1…');
}
