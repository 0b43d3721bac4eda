// Exact formatting of the statistics API's numbers: hours from hundredths (no float
// rounding), counts as integers, rates (three decimals) as percentages.

import { fmt } from '../../ui.js';

// 198178 → "1981.78" (hundredths of a credit hour, exactly).
export function hours(centi) {
  if (centi === null || centi === undefined) return '—';
  const n = Math.abs(Number(centi));
  const sign = Number(centi) < 0 ? '-' : '';
  return `${sign}${Math.floor(n / 100)}.${String(n % 100).padStart(2, '0')}`;
}

export const int = fmt.int;

// 0.742 → "74.2%"; null (nothing to count) → "—".
export function pct(rate) {
  if (rate === null || rate === undefined) return '—';
  return `${(Math.round(Number(rate) * 1000) / 10).toFixed(1)}%`;
}

const QUARTERS = { Q1: '第一季度', Q2: '第二季度', Q3: '第三季度', Q4: '第四季度' };

// The API's period label in words: 2026-11 → 2026年11月, 2026-Q4 → 2026年第四季度,
// 2026 → 2026年全年, a range → its days.
export function periodName(p) {
  let m = /^(\d{4})-(\d{2})$/.exec(p.label);
  if (m) return `${m[1]}年${Number(m[2])}月`;
  m = /^(\d{4})-(Q[1-4])$/.exec(p.label);
  if (m) return `${m[1]}年${QUARTERS[m[2]]}`;
  if (/^\d{4}$/.test(p.label)) return `${p.label}年全年`;
  return `${p.from} 至 ${p.to}`;
}

// A compliance slot's short name: 2026-03 → 3月, 2026-Q1 → 一季度, 2026 → 全年.
export function slotName(slot) {
  let m = /^\d{4}-(\d{2})$/.exec(slot);
  if (m) return `${Number(m[1])}月`;
  m = /^\d{4}-Q([1-4])$/.exec(slot);
  if (m) return `${'一二三四'[Number(m[1]) - 1]}季度`;
  return '全年';
}

export const paceName = { met: '已达标', on_track: '进度正常', behind: '进度落后' };
export const slotStatusName = { held: '已开', missing: '缺失', upcoming: '未到期', not_applicable: '不适用' };
// Why a slot is not asked of a branch (`reason` of a `not_applicable` slot).
export const slotReasonName = { no_party_groups: '无党小组', no_committee: '未设支委会', before_adoption: '启用前' };
export const frequencyName = { monthly: '每月', quarterly: '每季度', yearly: '每年', none: '不要求' };
