// Check-in on the meeting room's screen: the rotating code as a large QR code and digits
// with a countdown, and the live attendance board (Server-Sent Events from
// `GET /v1/occurrences/{id}/live`, polling `…/attendance` when the stream fails).

import { api, ApiError } from '../../api.js';
import { h, clear, fmt, names, nameOf, errorText } from '../../ui.js';
import qrcode from '../../vendor/qrcode-generator-2.0.4.mjs';

const POLL_MS = 5000;

// The attendance of one occurrence, kept current. `onChange(board)` after every update.
// board: { items: Map(user_id → AttendanceItem), counts, checkin, mode: 'connecting'|'live'|'polling' }
export function liveBoard(occId, signal, onChange) {
  const board = { items: new Map(), counts: null, checkin: null, mode: 'connecting', error: null, listeners: new Set() };
  if (onChange) board.listeners.add(onChange);
  const emit = () => { for (const fn of board.listeners) fn(board); };
  const setList = (list) => {
    board.items = new Map(list.items.map((it) => [it.user_id, it]));
    board.counts = list.counts;
    board.checkin = list.checkin;
  };
  let pollTimer = null;
  const poll = async () => {
    try {
      setList(await api.get(`/v1/occurrences/${occId}/attendance`, undefined, { signal }));
      board.error = null;
    } catch (e) {
      if (signal.aborted) return;
      board.error = errorText(e);
    }
    emit();
  };
  const startPolling = () => {
    if (pollTimer || signal.aborted) return;
    board.mode = 'polling';
    poll();
    pollTimer = setInterval(poll, POLL_MS);
    emit();
  };
  const stopPolling = () => { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } };
  signal.addEventListener('abort', stopPolling);
  // No snapshot soon: poll meanwhile (the stream keeps trying and takes over when it comes).
  const watchdog = setTimeout(startPolling, 8000);
  signal.addEventListener('abort', () => clearTimeout(watchdog));

  api.stream(`/v1/occurrences/${occId}/live`, (ev) => {
    let data;
    try { data = JSON.parse(ev.data); } catch (_) { return; }
    clearTimeout(watchdog);
    stopPolling();
    board.mode = 'live';
    board.error = null;
    if (ev.event === 'snapshot') {
      setList(data.board);
    } else if (ev.event === 'change') {
      if (data.attendance) board.items.set(data.attendance.user_id, data.attendance);
      board.counts = data.counts;
      const was = board.checkin;
      board.checkin = data.checkin;
      // An occurrence-wide change (closed): every record may have changed.
      if (!data.attendance && data.checkin !== was) poll();
    }
    emit();
  }, signal).catch((e) => {
    if (signal.aborted) return;
    board.error = errorText(e);
    startPolling();
  });
  // Ends when the stream ends for good (e.g. the caller may no longer operate it).
  return board;
}

const STATUS_CLASS = { present: 'present', late: 'late', proxy: 'present', leave: 'leave', absent: 'absent', made_up: 'present' };
export function attendanceBadge(item) {
  if (!item.status) {
    if (item.leave === 'pending') return h('span', { class: 'badge warn' }, '请假待批');
    if (item.leave === 'approved') return h('span', { class: 'badge leave' }, '请假（已批准）');
    return h('span', { class: 'badge' }, '未签到');
  }
  return h('span', { class: `badge ${STATUS_CLASS[item.status] || ''}`, dataset: { status: item.status } }, nameOf(names.attendance, item.status));
}

export function countsText(c) {
  if (!c) return '';
  const arrived = c.present + c.late + c.proxy;
  return `应到 ${c.invited} 人 · 已到 ${arrived} 人（出席 ${c.present}，迟到 ${c.late}，代签 ${c.proxy}）· 请假 ${c.leave} · 未签到 ${c.unrecorded}${c.absent ? ` · 缺席 ${c.absent}` : ''}`;
}

const ORDER = { present: 0, late: 1, proxy: 2, made_up: 3, leave: 4, absent: 5 };
function sortedItems(board) {
  return [...board.items.values()].sort((a, b) => {
    const x = a.status ? ORDER[a.status] ?? 9 : 8;
    const y = b.status ? ORDER[b.status] ?? 9 : 8;
    if (x !== y) return x - y;
    if (a.checked_in_at && b.checked_in_at) return b.checked_in_at.localeCompare(a.checked_in_at);
    return a.name.localeCompare(b.name, 'zh-CN');
  });
}

// The compact live list beside the code: arrived first, newest on top.
function liveList(board) {
  const box = h('section', { class: 'live', 'aria-labelledby': 'live-title' });
  const render = () => {
    const modeText = board.mode === 'live' ? '实时更新' : board.mode === 'polling' ? `每 ${POLL_MS / 1000} 秒刷新` : '正在连接…';
    clear(box,
      h('h2', { id: 'live-title' }, '签到情况 ', h('small', { class: `mode ${board.mode}` }, modeText)),
      h('p', { class: 'counts', 'aria-live': 'polite' }, countsText(board.counts)),
      board.error ? h('p', { class: 'error-box', role: 'alert' }, board.error) : null,
      h('ul', { class: 'live-list', role: 'list' }, sortedItems(board).map((it) => h('li', { dataset: { user: it.user_id, status: it.status || '' } },
        h('span', { class: 'name' }, it.name), ' ', attendanceBadge(it),
        it.checked_in_at ? h('small', { class: 'at' }, fmt.time(it.checked_in_at)) : null))));
  };
  board.listeners.add(render);
  render();
  return box;
}

// The projected panel: QR + digits + countdown + full-screen, and the live list beside.
// `occ` is the OccurrenceDetail; `onClosed` is called when check-in is seen closed.
export function projector(occ, board, signal, { onClosed } = {}) {
  const img = h('img', { alt: '签到二维码：请用手机扫码签到', width: 320, height: 320 });
  const qr = h('div', { class: 'qr' }, img);
  const digits = h('div', { class: 'digits', 'aria-live': 'polite', 'aria-label': '签到码' }, '······');
  const countdown = h('div', { class: 'countdown', role: 'timer' }, '');
  const status = h('div', { class: 'code-status', role: 'status' });
  const fullBtn = h('button', { type: 'button', class: 'fullscreen' }, '全屏投屏');
  const panel = h('section', { class: 'projector', 'aria-label': '投屏签到' },
    h('div', { class: 'proj-head' },
      h('div', { class: 'proj-title' }, h('strong', {}, occ.title), h('span', {}, ` ${fmt.dateTime(occ.starts_at, occ.time_zone)}${occ.place ? ` · ${occ.place}` : ''}`)),
      fullBtn),
    h('div', { class: 'proj-body' },
      h('div', { class: 'code' },
        qr,
        h('p', { class: 'hint' }, '打开“党课”小程序扫码签到，或输入签到码'),
        digits, countdown, status),
      liveList(board)));

  fullBtn.addEventListener('click', async () => {
    try {
      if (document.fullscreenElement) await document.exitFullscreen();
      else await panel.requestFullscreen();
    } catch (_) { status.textContent = '此浏览器不支持全屏，请按 F11'; }
  });
  const onFs = () => { fullBtn.textContent = document.fullscreenElement === panel ? '退出全屏' : '全屏投屏'; };
  document.addEventListener('fullscreenchange', onFs);
  signal.addEventListener('abort', () => {
    document.removeEventListener('fullscreenchange', onFs);
    if (document.fullscreenElement === panel) document.exitFullscreen().catch(() => {});
  });

  // The code loop. The server's clock decides the steps; the browser's may differ, so the
  // offset is estimated from valid_until and corrected when the code turns over.
  let code = null;
  let validUntil = 0;
  let stepMs = 30000;
  let skew = null; // server time − browser time, ms
  let lastFetch = 0;
  let fetchTimer = null;
  let tickTimer = null;
  let stopped = false;
  const serverNow = () => Date.now() + (skew || 0);
  const stop = (text) => {
    stopped = true;
    clearTimeout(fetchTimer);
    clearInterval(tickTimer);
    if (text !== undefined) {
      digits.textContent = '——';
      img.removeAttribute('src');
      qr.hidden = true;
      countdown.textContent = '';
      status.textContent = text;
    }
  };
  signal.addEventListener('abort', () => stop());
  const tick = () => {
    const left = Math.max(0, Math.ceil((validUntil - serverNow()) / 1000));
    countdown.textContent = code ? `${left} 秒后更换签到码` : '';
  };
  const show = (c, t) => {
    const until = Date.parse(c.valid_until);
    stepMs = Math.max(1, c.step_s) * 1000;
    const changed = code !== null && c.code !== code;
    const left = (t0) => until - (t0 + (skew || 0));
    if (skew === null) {
      skew = (until - t > 0 && until - t <= stepMs + 2000) ? 0 : (until - stepMs / 2) - t;
    } else if (changed) {
      const l = left(t);
      if (l < 0 || l > stepMs) skew = (until - stepMs + Math.min(stepMs / 2, (t - lastFetch) / 2)) - t;
    } else if (left(t) < 0 || left(t) > stepMs) {
      skew = (until - stepMs / 2) - t;
    }
    lastFetch = t;
    validUntil = until;
    if (c.code !== code) {
      code = c.code;
      digits.textContent = c.code;
      const q = qrcode(0, 'M');
      q.addData(c.qr_payload);
      q.make();
      img.src = q.createDataURL(10, 20);
      qr.dataset.payload = c.qr_payload;
    }
    qr.hidden = false;
    status.textContent = '';
    tick();
  };
  const fetchCode = async () => {
    if (stopped) return;
    let delay = 3000;
    try {
      const t = Date.now();
      const c = await api.get(`/v1/occurrences/${occ.id}/checkin/code`, undefined, { signal });
      if (stopped) return;
      show(c, (t + Date.now()) / 2);
      // The next code as soon as this one's step ends, and at least every 5 s.
      delay = Math.min(5000, Math.max(500, validUntil - serverNow() + 300));
    } catch (e) {
      if (signal.aborted || stopped) return;
      if (e instanceof ApiError && (e.code === 'checkin_not_open' || e.status === 409 || e.status === 404 || e.status === 403)) {
        stop(e.status === 409 || e.code === 'checkin_not_open' ? '签到未开启或已结束' : errorText(e));
        if (onClosed) onClosed();
        return;
      }
      status.textContent = `${errorText(e)}（正在重试）`;
    }
    fetchTimer = setTimeout(fetchCode, delay);
  };
  board.listeners.add((b) => {
    if (b.checkin === 'closed' && !stopped) { stop('签到已结束'); if (onClosed) onClosed(); }
  });
  tickTimer = setInterval(tick, 250);
  fetchCode();
  return panel;
}
