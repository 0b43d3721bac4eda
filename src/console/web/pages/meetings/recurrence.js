// Recurrence in words a branch secretary uses, translated to the RFC 5545 RRULE the API
// takes (`CreateActivityRequest.rrule`, without DTSTART), and back for display.
// Dates are plain calendar days (YYYY-MM-DD) in the org's zone; no time-zone arithmetic.

export const WEEKDAYS = [['MO', '星期一'], ['TU', '星期二'], ['WE', '星期三'], ['TH', '星期四'], ['FR', '星期五'], ['SA', '星期六'], ['SU', '星期日']];
export const ORDINALS = [['1', '第一个'], ['2', '第二个'], ['3', '第三个'], ['4', '第四个'], ['-1', '最后一个']];

// The patterns offered, in the order of the select.
export const PATTERNS = [
  ['once', '只一次'],
  ['monthly_day', '每月几日（如每月1日）'],
  ['monthly_weekday', '每月第几个星期几（如每月第一个星期五）'],
  ['quarterly_day', '每季度第一个月的几日（1、4、7、10月）'],
  ['weekly', '每周星期几'],
  ['custom', '其他（直接填写 RRULE）'],
];

const pad = (n) => String(n).padStart(2, '0');
const dayName = (code) => (WEEKDAYS.find(([c]) => c === code) || [code, code])[1];
const ordName = (k) => (ORDINALS.find(([c]) => c === String(k)) || [k, `第${k}个`])[1];

function parseDay(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
}
export function dayString(d) { return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`; }
const addDays = (d, n) => new Date(d.getTime() + n * 86400000);
const WD_INDEX = { SU: 0, MO: 1, TU: 2, WE: 3, TH: 4, FR: 5, SA: 6 };

// The `k`-th (1..4, or -1 for the last) weekday `wd` of a month, or null.
function nthWeekday(year, month, k, wd) {
  const want = WD_INDEX[wd];
  if (k > 0) {
    const first = new Date(Date.UTC(year, month, 1));
    const d = addDays(first, ((want - first.getUTCDay() + 7) % 7) + (k - 1) * 7);
    return d.getUTCMonth() === month ? d : null;
  }
  const last = new Date(Date.UTC(year, month + 1, 0));
  return addDays(last, -((last.getUTCDay() - want + 7) % 7));
}

// { pattern, day, ordinal, weekday, custom } → the RRULE text (null for a one-off).
export function toRrule(p) {
  switch (p.pattern) {
    case 'once': return null;
    case 'monthly_day': return `FREQ=MONTHLY;BYMONTHDAY=${Number(p.day)}`;
    // BYSETPOS rather than `BYDAY=1FR`: the API stores `1FR` as `FR` (every Friday).
    case 'monthly_weekday': return `FREQ=MONTHLY;BYDAY=${p.weekday};BYSETPOS=${p.ordinal}`;
    case 'quarterly_day': return `FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=${Number(p.day)}`;
    case 'weekly': return `FREQ=WEEKLY;BYDAY=${p.weekday}`;
    default: return (p.custom || '').trim().replace(/^RRULE:/i, '') || null;
  }
}

// The first day on or after `from` (YYYY-MM-DD) that the pattern gives: the series' start.
export function firstDay(p, from) {
  const start = parseDay(from);
  if (!start) return null;
  if (p.pattern === 'once' || p.pattern === 'custom') return dayString(start);
  if (p.pattern === 'weekly') {
    return dayString(addDays(start, (WD_INDEX[p.weekday] - start.getUTCDay() + 7) % 7));
  }
  for (let i = 0; i < 48; i += 1) {
    const y = start.getUTCFullYear();
    const m = start.getUTCMonth() + i;
    const month = new Date(Date.UTC(y, m, 1));
    const [yy, mm] = [month.getUTCFullYear(), month.getUTCMonth()];
    let d = null;
    if (p.pattern === 'monthly_day' || p.pattern === 'quarterly_day') {
      if (p.pattern === 'quarterly_day' && mm % 3 !== 0) continue;
      const day = Number(p.day);
      const cand = new Date(Date.UTC(yy, mm, day));
      if (cand.getUTCMonth() === mm) d = cand;
    } else if (p.pattern === 'monthly_weekday') {
      d = nthWeekday(yy, mm, Number(p.ordinal), p.weekday);
    }
    if (d && d >= start) return dayString(d);
  }
  return null;
}

// An RRULE in words, for the list of series ("每月1日"); the text itself when unknown.
export function describe(rrule) {
  if (!rrule) return '只一次';
  const parts = Object.fromEntries(rrule.replace(/^RRULE:/i, '').split(';').map((kv) => kv.split('=')));
  const keys = Object.keys(parts).filter((k) => !['WKST'].includes(k)).sort().join(',');
  const interval = Number(parts.INTERVAL || 1);
  if (parts.FREQ === 'MONTHLY' && keys === 'BYMONTHDAY,FREQ' && /^\d+$/.test(parts.BYMONTHDAY)) return `每月${parts.BYMONTHDAY}日`;
  if (parts.FREQ === 'MONTHLY' && keys === 'BYMONTHDAY,FREQ,INTERVAL' && interval === 3) return `每季度第一个月的${parts.BYMONTHDAY}日`;
  if (parts.FREQ === 'MONTHLY' && keys === 'BYMONTHDAY,FREQ,INTERVAL') return `每${interval}个月的${parts.BYMONTHDAY}日`;
  const byday = /^(-?\d)([A-Z]{2})$/.exec(parts.BYDAY || '');
  if (parts.FREQ === 'MONTHLY' && keys === 'BYDAY,FREQ' && byday) return `每月${ordName(byday[1])}${dayName(byday[2])}`;
  if (parts.FREQ === 'MONTHLY' && keys === 'BYDAY,BYSETPOS,FREQ' && /^[A-Z]{2}$/.test(parts.BYDAY) && /^-?\d$/.test(parts.BYSETPOS)) return `每月${ordName(parts.BYSETPOS)}${dayName(parts.BYDAY)}`;
  if (parts.FREQ === 'WEEKLY' && keys === 'BYDAY,FREQ' && /^[A-Z]{2}$/.test(parts.BYDAY)) return `每周${dayName(parts.BYDAY)}`;
  if (parts.FREQ === 'MONTHLY' && keys === 'FREQ' && interval === 1) return '每月一次';
  if (parts.FREQ === 'MONTHLY' && keys === 'FREQ,INTERVAL' && interval === 3) return '每季度一次';
  if (parts.FREQ === 'WEEKLY' && keys === 'FREQ') return '每周一次';
  return rrule;
}

// Local wall time `YYYY-MM-DDTHH:MM:00` of a day and `HH:MM`, plus `minutes`.
export function localTime(day, hhmm, minutes = 0) {
  const d = parseDay(day);
  const m = /^(\d{1,2}):(\d{2})/.exec(hhmm || '');
  if (!d || !m) return null;
  const t = new Date(d.getTime() + ((Number(m[1]) * 60 + Number(m[2]) + minutes) * 60000));
  return `${dayString(t)}T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:00`;
}
