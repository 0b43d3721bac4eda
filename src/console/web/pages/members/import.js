// Import of the member list (CSV from Excel): choose or drop a file, a dry run first
// (POST /v1/orgs/{id}/members/import?dry_run=true, the raw file as text/csv — the server
// reads GBK, UTF-8 and UTF-16), the per-row report, then apply the same bytes for real.

import { api } from '../../api.js';
import { h, clear, field, table, errorBox, fmt, toast } from '../../ui.js';

const OUTCOME = {
  created: ['新增', 'ok'],
  updated: ['更新', 'warn'],
  unchanged: ['不变', ''],
  rejected: ['拒绝', 'bad'],
};

const FIELD = {
  name: '姓名', phone: '手机号', gender: '性别', birth_date: '出生日期', joined_party_on: '入党日期',
  category: '类别', org: '所在支部', cadre: '是否干部', is_cadre: '是否干部',
};

const MAX_BYTES = 20 * 1024 * 1024;

export function importPanel(org, { signal, onApplied, orgName }) {
  let file = null;
  let checked = null; // the dry run's report for `file`

  const input = h('input', { type: 'file', name: 'file', accept: '.csv,text/csv' });
  const chosen = h('p', { class: 'chosen', 'aria-live': 'polite' }, '尚未选择文件');
  const zone = h('div', { class: 'dropzone' },
    h('p', {}, '把 Excel 另存的 CSV 文件拖到这里，或'),
    field('选择 CSV 文件', input, '支持 GBK（Excel 默认）和 UTF-8；须有“姓名”“手机号”两列。'),
    chosen);
  const dryButton = h('button', { type: 'button', class: 'primary', disabled: true }, '检查（试导入）');
  const applyButton = h('button', { type: 'button', class: 'primary', hidden: true }, '确认导入');
  const progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': '上传进度' });
  const out = h('div', { class: 'import-report' });

  const choose = (f) => {
    file = f || null;
    checked = null;
    applyButton.hidden = true;
    clear(out);
    if (!file) { chosen.textContent = '尚未选择文件'; dryButton.disabled = true; return; }
    chosen.textContent = `已选择：${file.name}（${fmt.int(Math.ceil(file.size / 1024))} KB）`;
    if (file.size > MAX_BYTES) {
      clear(out, h('div', { class: 'error-box', role: 'alert' }, '文件超过 20 MB，请分成几个文件导入。'));
      dryButton.disabled = true;
      return;
    }
    dryButton.disabled = false;
  };

  input.addEventListener('change', () => choose(input.files[0]));
  zone.addEventListener('dragover', (ev) => { ev.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('over');
    const f = ev.dataTransfer && ev.dataTransfer.files[0];
    if (f) { input.value = ''; choose(f); dryButton.focus(); }
  });

  const send = async (dryRun) => {
    progress.hidden = false;
    progress.value = 0;
    try {
      const bytes = await file.arrayBuffer();
      return await api.upload('POST', `/v1/orgs/${org.id}/members/import`, bytes, {
        headers: { 'Content-Type': 'text/csv' },
        query: { dry_run: dryRun ? 'true' : 'false' },
        onProgress: (x) => { progress.value = x; },
      });
    } finally {
      progress.hidden = true;
    }
  };

  dryButton.addEventListener('click', async () => {
    if (!file) return;
    dryButton.disabled = true;
    applyButton.hidden = true;
    clear(out, h('p', { class: 'loading', role: 'status' }, '正在检查…'));
    try {
      const report = await send(true);
      if (signal.aborted) return;
      checked = report;
      clear(out, reportView(report, true, null, orgName));
      const writes = report.counts.created + report.counts.updated;
      applyButton.hidden = false;
      applyButton.disabled = writes === 0;
      applyButton.textContent = writes ? `确认导入（新增 ${report.counts.created} 人，更新 ${report.counts.updated} 人）` : '没有需要导入的内容';
      out.querySelector('h3').focus();
    } catch (e) {
      clear(out, errorBox(e));
    } finally {
      dryButton.disabled = !file;
    }
  });

  applyButton.addEventListener('click', async () => {
    if (!file || !checked) return;
    applyButton.disabled = true;
    dryButton.disabled = true;
    try {
      const report = await send(false);
      if (signal.aborted) return;
      clear(out, reportView(report, false,
        report.file_sha256 !== checked.file_sha256 ? '注意：导入的文件与检查时的不同。' : null, orgName));
      applyButton.hidden = true;
      checked = null;
      toast(`导入完成：新增 ${report.counts.created} 人，更新 ${report.counts.updated} 人，拒绝 ${report.counts.rejected} 行`, 'success');
      out.querySelector('h3').focus();
      await onApplied();
    } catch (e) {
      out.prepend(errorBox(e));
      applyButton.disabled = false;
    } finally {
      dryButton.disabled = !file;
    }
  });

  return h('section', { class: 'card import', 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title' }, `导入党员名单到${org.name}`),
    h('p', { class: 'muted' }, '先检查：试导入不写入任何数据，逐行列出结果；确认无误后再点“确认导入”。“所在支部”为空的行导入到本组织；重复导入同一文件不会产生变化。'),
    zone,
    h('div', { class: 'toolbar' }, dryButton, applyButton),
    progress,
    out);
}

function reason(r) {
  if (r.outcome === 'updated') {
    const changed = (r.changes || []).map((c) => FIELD[c] || c);
    return changed.length ? `变更：${changed.join('、')}` : '';
  }
  if (r.outcome !== 'rejected') return '';
  const problems = r.problems && r.problems.length ? r.problems : [{ message: r.message || r.reason, column: null }];
  return h('ul', { class: 'problems' }, problems.map((p) => h('li', {},
    p.column ? `${FIELD[p.column] || p.column}：` : '', p.message,
    p.reason === 'duplicate_phone' && r.duplicate_of_line && !p.message.includes(`第 ${r.duplicate_of_line} 行`)
      ? `（与第 ${r.duplicate_of_line} 行相同）` : '')));
}

function reportView(report, dryRun, warning, orgName) {
  const c = report.counts;
  const rejected = report.rows.filter((r) => r.outcome === 'rejected');
  return h('div', {},
    h('h3', { tabindex: '-1' }, dryRun ? '检查结果（试导入，尚未写入）' : '导入结果（已写入）'),
    warning ? h('div', { class: 'error-box', role: 'alert' }, warning) : null,
    h('p', { class: 'counts' },
      figure('数据行', c.rows), figure('新增', c.created, 'ok'), figure('更新', c.updated, 'warn'),
      figure('不变', c.unchanged), figure('拒绝', c.rejected, 'bad')),
    h('p', { class: 'muted' },
      `文件编码：${report.encoding}；表头在第 ${report.header_line} 行；识别的列：${report.columns.map((x) => x.header).join('、') || '无'}`,
      report.ignored_columns.length ? `；忽略的列：${report.ignored_columns.join('、')}` : ''),
    rejected.length
      ? h('p', { class: 'error-box', role: 'alert' }, `${rejected.length} 行有问题，将被跳过（第 ${rejected.map((r) => r.line).join('、')} 行）；其余各行不受影响。`)
      : null,
    table([
      { title: '行号', class: 'num', cell: (r) => String(r.line) },
      { title: '姓名', cell: (r) => r.name || '' },
      { title: '手机号', cell: (r) => r.phone || '' },
      { title: '所在组织', cell: (r) => (r.org_id ? orgName(r.org_id) : '') },
      { title: '结果', cell: (r) => h('span', { class: `badge ${OUTCOME[r.outcome][1]}` }, OUTCOME[r.outcome][0]) },
      { title: '原因 / 变更', cell: reason },
    ], report.rows, {
      caption: dryRun ? '逐行检查结果' : '逐行导入结果',
      empty: '文件中没有数据行',
      rowAttrs: (r) => ({ class: r.outcome === 'rejected' ? 'bad' : null, dataset: { line: r.line, outcome: r.outcome } }),
    }));
}

function figure(label, value, kind) {
  return h('span', { class: `count ${value ? kind || '' : ''}` }, `${label} `, h('strong', {}, fmt.int(value)));
}
