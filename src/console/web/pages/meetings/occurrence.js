// One occurrence: details, check-in (open, projected code, live list, close), attendance
// (proxy check-in, corrections), leave requests, minutes with photos, move and cancel.

import { api } from '../../api.js';
import { h, clear, field, select, table, dialog, busy, toast, fmt, names, nameOf, errorBox, confirmDialog } from '../../ui.js';
import { statusBadge } from './calendar.js';
import { liveBoard, projector, attendanceBadge, countsText } from './checkin.js';

const SOURCES = { checkin: '扫码签到', proxy: '代签', leave: '请假', close: '结束签到时记缺席', correction: '更正', makeup: '补学' };
const LEAVE = { pending: '待审批', approved: '已批准', rejected: '已驳回' };
const LEAVE_CLASS = { pending: 'warn', approved: 'ok', rejected: 'bad' };

function localInput(local) { return (local || '').slice(0, 16); }
const withSeconds = (v) => (v && v.length === 16 ? `${v}:00` : v);

// The projector view alone (for the meeting room's screen).
export async function renderProjector(ctx, occId) {
  const occ = await api.get(`/v1/occurrences/${occId}`, undefined, { signal: ctx.signal });
  ctx.setTitle(`投屏签到 · ${occ.title}`);
  const back = h('a', { class: 'button', href: ctx.href('meetings', ctx.orgId, 'occurrence', occ.id) }, '‹ 返回会议');
  ctx.root.append(h('h1', { class: 'proj-h1' }, `投屏签到：${occ.title}`), h('div', { class: 'toolbar' }, back));
  if (occ.checkin !== 'open') {
    ctx.root.append(h('div', { class: 'not-found', role: 'status' },
      h('h2', {}, occ.checkin === 'closed' ? '签到已结束' : '签到尚未开启'),
      h('p', {}, '请在会议页面开启签到后再投屏。')));
    return;
  }
  const board = liveBoard(occ.id, ctx.signal);
  ctx.root.append(projector(occ, board, ctx.signal));
}

export async function renderOccurrence(ctx, occId) {
  const { signal } = ctx;
  let occ = await api.get(`/v1/occurrences/${occId}`, undefined, { signal });
  ctx.setTitle(occ.title);
  const reload = async () => {
    // Re-render the whole page with fresh data (after open/close/move/cancel).
    const target = ctx.href('meetings', ctx.orgId, 'occurrence', occ.id);
    if (location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = target;
  };
  const month = occ.local_start.slice(0, 7);
  ctx.root.append(
    h('p', { class: 'crumbs' }, h('a', { href: ctx.href('meetings', ctx.orgId, new URLSearchParams({ month })) }, `‹ 会议日历（${month.replace('-', '年')}月）`)),
    h('h1', {}, occ.title, ' ', statusBadge(occ)));

  // ---- details and actions ----
  const details = h('dl', { class: 'details' },
    h('dt', {}, '类型'), h('dd', {}, nameOf(names.activityKind, occ.kind)),
    h('dt', {}, '时间'), h('dd', {}, `${fmt.dateTime(occ.starts_at, occ.time_zone)} – ${fmt.time(occ.ends_at, occ.time_zone).slice(0, 5)}`,
      occ.is_exception && occ.original_start !== occ.starts_at ? h('small', {}, `（原定 ${fmt.dateTime(occ.original_start, occ.time_zone)}）`) : null),
    h('dt', {}, '地点'), h('dd', {}, occ.place || '—'),
    occ.online_url ? [h('dt', {}, '线上'), h('dd', {}, h('a', { href: occ.online_url, rel: 'noopener', target: '_blank' }, occ.online_url))] : null,
    h('dt', {}, '签到'), h('dd', {}, { not_open: '未开启', open: '进行中', closed: '已结束' }[occ.checkin] || occ.checkin,
      occ.location ? `（须在会场 ${occ.location.radius_m} 米内）` : ''),
    h('dt', {}, '学时'), h('dd', {}, `${fmt.hours(occ.credit_centi / 100)} 学时`),
    occ.status === 'cancelled' ? [h('dt', {}, '取消原因'), h('dd', {}, occ.cancel_reason || '—')] : null,
    h('dt', {}, '议程'), h('dd', { class: 'pre' }, occ.agenda || '—'));
  const actions = h('div', { class: 'toolbar' });
  const scheduled = occ.status === 'scheduled';
  if (occ.can_manage && scheduled && occ.checkin === 'not_open') {
    actions.append(h('button', { type: 'button', class: 'primary', onclick: (ev) => busy(ev.currentTarget, async () => {
      await api.post(`/v1/occurrences/${occ.id}/checkin/open`);
      toast('签到已开启', 'success');
      await reload();
    }) }, '开启签到'));
  }
  if (occ.can_manage && occ.checkin === 'open') {
    actions.append(
      h('a', { class: 'button', href: ctx.href('meetings', ctx.orgId, 'occurrence', occ.id, 'projector') }, '单独投屏页'),
      h('button', { type: 'button', onclick: (ev) => closeCheckin(occ, ev.currentTarget, reload) }, '结束签到'));
  }
  if (occ.can_manage && scheduled && occ.checkin === 'not_open') {
    actions.append(
      h('button', { type: 'button', onclick: () => moveDialog(occ, reload) }, '调整时间地点'),
      h('button', { type: 'button', class: 'danger', onclick: () => cancelDialog(occ, reload) }, '取消本次会议'));
  }
  ctx.root.append(h('div', { class: 'card' }, details, actions));

  if (!occ.can_manage) {
    ctx.root.append(h('p', { class: 'muted' }, '您不是这次会议的组织者，只能查看。'));
    return;
  }

  // ---- check-in and attendance ----
  const board = liveBoard(occ.id, signal);
  if (occ.checkin === 'open') {
    ctx.root.append(h('h2', {}, '投屏签到'), projector(occ, board, signal, { onClosed: () => {} }));
  }
  const attendanceBox = h('section', { 'aria-labelledby': 'att-title' });
  ctx.root.append(attendanceBox);
  const renderAttendance = () => {
    const items = [...board.items.values()].sort((a, b) => a.name.localeCompare(b.name, 'zh-CN'));
    const closed = board.checkin === 'closed';
    clear(attendanceBox,
      h('h2', { id: 'att-title' }, '出勤'),
      h('p', { class: 'counts' }, countsText(board.counts)),
      table([
        { title: '姓名', cell: (it) => it.name },
        { title: '状态', cell: (it) => attendanceBadge(it) },
        { title: '签到时间', cell: (it) => (it.checked_in_at ? fmt.dateTime(it.checked_in_at) : '—') },
        { title: '方式', cell: (it) => (it.source ? nameOf(SOURCES, it.source) : '—') },
        { title: '说明', cell: (it) => it.reason || '' },
        { title: '操作', cell: (it) => h('span', { class: 'row-actions' },
          !closed && scheduled && !it.status ? h('button', { type: 'button', class: 'small', onclick: () => proxyDialog(occ, it) }, '代签') : null,
          h('button', { type: 'button', class: 'small', onclick: () => correctDialog(occ, it, board) }, '更正')) },
      ], items, { caption: '应参会人员的出勤（随签到实时更新）', empty: board.mode === 'connecting' ? '正在加载…' : '没有应参会人员', rowAttrs: (it) => ({ dataset: { user: it.user_id } }) }));
  };
  board.listeners.add(renderAttendance);
  renderAttendance();

  // ---- leave requests ----
  const leavesBox = h('section', { 'aria-labelledby': 'leave-title' });
  ctx.root.append(leavesBox);
  const renderLeaves = async () => {
    let leaves;
    try { leaves = await api.get(`/v1/occurrences/${occ.id}/leaves`, undefined, { signal }); } catch (e) {
      if (signal.aborted) return;
      clear(leavesBox, h('h2', { id: 'leave-title' }, '请假'), errorBox(e));
      return;
    }
    const nameOfUser = (id) => (board.items.get(id) || {}).name || `#${id}`;
    clear(leavesBox, h('h2', { id: 'leave-title' }, '请假'), table([
      { title: '党员', cell: (l) => nameOfUser(l.user_id) },
      { title: '事由', cell: (l) => l.reason },
      { title: '提交时间', cell: (l) => fmt.dateTime(l.requested_at) },
      { title: '状态', cell: (l) => h('span', { class: `badge ${LEAVE_CLASS[l.status] || ''}` }, nameOf(LEAVE, l.status)) },
      { title: '审批意见', cell: (l) => l.decision_note || (l.decided_at ? fmt.dateTime(l.decided_at) : '') },
      { title: '操作', cell: (l) => (l.status === 'pending' ? h('span', { class: 'row-actions' },
        h('button', { type: 'button', class: 'small', onclick: () => decide(l, true, nameOfUser(l.user_id)) }, '批准'),
        h('button', { type: 'button', class: 'small danger', onclick: () => decide(l, false, nameOfUser(l.user_id)) }, '驳回')) : '') },
    ], leaves, { caption: '党员提交的请假申请', empty: '没有请假申请' }));
  };
  const decide = async (leave, approve, who) => {
    const note = h('input', { name: 'note', maxlength: 200 });
    const ok = await dialog(`${approve ? '批准' : '驳回'}${who}的请假`, h('div', {},
      h('p', {}, `事由：${leave.reason}`), field('意见（可选）', note)), {
      submitText: approve ? '批准' : '驳回',
      onSubmit: () => api.post(`/v1/leaves/${leave.id}/decision`, { approve, note: note.value.trim() || null }),
    });
    if (ok) { toast(approve ? '已批准请假' : '已驳回请假', 'success'); await renderLeaves(); }
  };
  await renderLeaves();
  // Names come with the board; redraw the leaves once it has them.
  let named = false;
  board.listeners.add(() => { if (!named && board.items.size) { named = true; renderLeaves(); } });

  // ---- minutes ----
  ctx.root.append(minutesSection(occ, signal));
}

async function closeCheckin(occ, button, reload) {
  const ok = await confirmDialog('结束签到', '结束后出勤即为最终结果（之后只能逐人更正），未签到的党员记为缺席，并计入学时。确定结束吗？', '结束签到');
  if (!ok) return;
  await busy(button, async () => {
    const s = await api.post(`/v1/occurrences/${occ.id}/checkin/close`);
    toast(s.already_closed ? '签到此前已结束' : `签到已结束：${s.marked_absent} 人记为缺席，${s.credited} 人获得学时`, 'success');
    await reload();
  });
}

function moveDialog(occ, reload) {
  const start = h('input', { name: 'start_local', type: 'datetime-local', required: true, value: localInput(occ.local_start) });
  const end = h('input', { name: 'end_local', type: 'datetime-local', required: true, value: localInput(occ.local_end) });
  const place = h('input', { name: 'place', maxlength: 200, value: occ.place || '' });
  return dialog('调整本次会议', h('div', {},
    h('p', { class: 'muted' }, `只调整这一次（${occ.time_zone} 当地时间），系列中其他会议不变。`),
    h('div', { class: 'row' }, field('开始', start), field('结束', end)), field('地点', place)), {
    submitText: '保存',
    onSubmit: async () => {
      const body = { start_local: withSeconds(start.value), end_local: withSeconds(end.value) };
      if (place.value.trim() !== (occ.place || '')) body.place = place.value.trim() || null;
      await api.post(`/v1/occurrences/${occ.id}/move`, body);
    },
  }).then(async (ok) => { if (ok) { toast('已调整', 'success'); await reload(); } });
}

function cancelDialog(occ, reload) {
  const reason = h('input', { name: 'reason', maxlength: 200 });
  return dialog('取消本次会议', h('div', {}, h('p', {}, '只取消这一次，系列中其他会议不变。党员的日历会收到取消通知。'), field('原因（可选）', reason)), {
    submitText: '取消本次会议',
    onSubmit: () => api.post(`/v1/occurrences/${occ.id}/cancel`, { reason: reason.value.trim() || null }),
  }).then(async (ok) => { if (ok) { toast('已取消本次会议', 'success'); await reload(); } });
}

function proxyDialog(occ, item) {
  const reason = h('input', { name: 'reason', required: true, maxlength: 200, placeholder: '如：年老无智能手机' });
  return dialog(`为${item.name}代签`, h('div', {}, field('代签原因', reason, '代签会记入审计记录')), {
    submitText: '代签',
    onSubmit: () => api.post(`/v1/occurrences/${occ.id}/proxy`, { user_id: item.user_id, reason: reason.value.trim() }),
  }).then((ok) => { if (ok) toast(`已为${item.name}代签`, 'success'); });
}

function correctDialog(occ, item, board) {
  const status = select('status', ['present', 'late', 'leave', 'absent', 'proxy'].map((s) => [s, names.attendance[s]]), item.status && item.status !== 'made_up' ? item.status : 'present');
  const reason = h('input', { name: 'reason', required: true, maxlength: 200 });
  return dialog(`更正${item.name}的出勤`, h('div', {},
    h('p', {}, '当前：', attendanceBadge(item)),
    field('更正为', status), field('原因', reason, '更正会记入审计记录，学时随之调整')), {
    submitText: '更正',
    onSubmit: async () => {
      const list = await api.put(`/v1/occurrences/${occ.id}/attendance/${item.user_id}`, { status: status.value, reason: reason.value.trim() });
      // The stream sends the change too; apply the answer at once in case it is polling.
      board.items = new Map(list.items.map((it) => [it.user_id, it]));
      board.counts = list.counts;
      board.checkin = list.checkin;
      for (const fn of board.listeners) fn(board);
    },
  }).then((ok) => { if (ok) toast(`已更正${item.name}的出勤`, 'success'); });
}

// Minutes: text and photos (uploaded with a progress bar).
function minutesSection(occ, signal) {
  const m = occ.minutes || { text: '', photo_media_ids: [] };
  const photos = [...m.photo_media_ids];
  const text = h('textarea', { name: 'minutes', rows: 6, maxlength: 16000 }, m.text || '');
  const gallery = h('ul', { class: 'photos', role: 'list' });
  const file = h('input', { type: 'file', name: 'photo', accept: 'image/*', multiple: true });
  const progress = h('progress', { max: 1, value: 0, hidden: true });
  const progressText = h('span', { class: 'muted', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary' }, '保存纪要');
  const urls = [];
  signal.addEventListener('abort', () => urls.forEach((u) => URL.revokeObjectURL(u)));
  const thumb = (id) => {
    const img = h('img', { alt: `会议照片 ${id}`, loading: 'lazy' });
    (async () => {
      try {
        const media = await api.get(`/v1/media/${id}`, undefined, { signal });
        if (media.url.startsWith('/')) { const u = await api.objectUrl(media.url); urls.push(u); img.src = u; } else img.src = media.url;
        if (media.file_name) img.alt = `会议照片：${media.file_name}`;
      } catch (_) { img.alt = `照片 ${id} 无法显示`; }
    })();
    return h('li', { dataset: { media: id } }, img,
      h('button', { type: 'button', class: 'small', 'aria-label': `移除照片 ${id}`, onclick: () => { photos.splice(photos.indexOf(id), 1); drawPhotos(); } }, '移除'));
  };
  const drawPhotos = () => clear(gallery, photos.map(thumb));
  drawPhotos();
  file.addEventListener('change', async () => {
    const files = [...file.files];
    for (const [i, f] of files.entries()) {
      progress.hidden = false;
      progress.value = 0;
      progressText.textContent = `正在上传 ${f.name}（${i + 1}/${files.length}）`;
      try {
        const media = await api.upload('POST', '/v1/media', f, {
          headers: { 'Content-Type': 'application/octet-stream' },
          query: { file_name: f.name },
          onProgress: (x) => { progress.value = x; progressText.textContent = `正在上传 ${f.name}：${Math.round(x * 100)}%`; },
        });
        if (media.kind !== 'image') { toast(`${f.name} 不是图片`, 'error'); continue; }
        if (!photos.includes(media.id)) photos.push(media.id);
        drawPhotos();
      } catch (e) {
        toast(e.text || String(e), 'error');
      }
    }
    progress.hidden = true;
    progressText.textContent = files.length ? '上传完成，请保存纪要' : '';
    file.value = '';
  });
  const form = h('form', { class: 'card minutes' },
    field('会议纪要', text, occ.held ? null : '会议举行（出勤已记录）后才能保存纪要'),
    h('div', { class: 'field' }, h('span', { class: 'label' }, '照片'), gallery),
    field('添加照片', file, '可多选；至多 20 张'),
    h('div', {}, progress, ' ', progressText),
    h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(save, async () => {
      await api.put(`/v1/occurrences/${occ.id}/minutes`, { text: text.value.trim(), photo_media_ids: photos });
      toast('纪要已保存', 'success');
    });
  });
  return h('section', { 'aria-labelledby': 'min-title' }, h('h2', { id: 'min-title' }, '会议纪要'), form);
}
