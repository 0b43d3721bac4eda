// The lesson editor: a video, audio or PDF lesson gets its file uploaded here (POST
// /v1/media with a progress bar) or an external URL; an article gets an HTML body with a
// live preview (the server sanitizes it).

import { api } from '../../api.js';
import { h, clear, field, select, dialog, toast, errorText, idempotencyKey } from '../../ui.js';
import { lessonKinds, duration, size, articleHtml, previewNodes } from './common.js';

const ACCEPT = { video: 'video/mp4,video/*', audio: 'audio/*,.mp3,.m4a,.wav,.ogg', pdf: 'application/pdf,.pdf' };
const LIMIT_HINT = { video: '视频（MP4）', audio: '音频（MP3、M4A、WAV、OGG）', pdf: 'PDF 文档' };

// Resolves to the saved lesson, or null when cancelled. `lesson` null creates one.
export async function editLesson(course, lesson) {
  let full = null;
  if (lesson) full = await api.get(`/v1/lessons/${lesson.id}`);
  const isNew = !full;
  let kind = full ? full.kind : 'video';
  let mediaId = full ? full.media_id ?? null : null;
  let uploading = false;

  const kindSelect = select('kind', Object.entries(lessonKinds), kind);
  const title = h('input', { name: 'title', required: true, maxlength: 200, value: full ? full.title : '' });

  // Media: the file, its progress, what was uploaded.
  const file = h('input', { type: 'file', name: 'file', accept: ACCEPT[kind] || '' });
  const progress = h('progress', { max: 1, value: 0, hidden: true });
  const status = h('div', { class: 'upload-status', role: 'status', 'aria-live': 'polite' },
    mediaId ? `已有文件 #${mediaId}。选择新文件可替换。` : '尚未上传文件。');
  const external = h('input', { name: 'external_url', type: 'url', placeholder: 'https://', value: full && !full.media_id && full.url ? full.url : '' });
  const dur = h('input', { name: 'duration_s', type: 'number', min: 1, max: 36000, step: 1, value: full && full.duration_s ? String(full.duration_s) : '' });
  const coverage = h('input', { name: 'min_coverage', type: 'number', min: 50, max: 100, step: 1, value: String(Math.round((full ? full.min_coverage : 0.9) * 100)) });
  const reading = h('input', { name: 'min_reading_s', type: 'number', min: 0, max: 7200, step: 1, value: String(full && full.min_reading_s !== null && full.min_reading_s !== undefined ? full.min_reading_s : 60) });
  const fileHint = h('small', { class: 'hint' });
  // A file dropped here is chosen as if picked with the file input.
  const dropzone = h('div', { class: 'dropzone' }, h('p', { class: 'drop-hint' }, '也可以把文件拖到这里'), progress, status);
  dropzone.addEventListener('dragover', (e) => { e.preventDefault(); dropzone.classList.add('over'); });
  dropzone.addEventListener('dragleave', () => dropzone.classList.remove('over'));
  dropzone.addEventListener('drop', (e) => {
    e.preventDefault();
    dropzone.classList.remove('over');
    if (!e.dataTransfer || !e.dataTransfer.files.length || uploading) return;
    file.files = e.dataTransfer.files;
    file.dispatchEvent(new Event('change'));
  });
  const mediaPart = h('fieldset', { class: 'media-part' },
    h('legend', {}, '文件'),
    field('选择文件上传', file),
    fileHint,
    dropzone,
    field('或填写外部地址', external, '已有 CDN 地址时可不上传；上传文件和外部地址只能二选一。'));
  const avPart = h('div', { class: 'av-part' },
    field('时长（秒）', dur, '可不填：能从文件读出时自动使用。'),
    field('完成要求：至少观看/收听（%）', coverage, '50 到 100，默认 90。'));
  const body = h('textarea', { name: 'body', rows: 12, maxlength: 16000, value: full && full.body ? full.body : '' });
  const preview = h('div', { class: 'article-preview', 'aria-live': 'off' });
  const articlePart = h('div', { class: 'article-part' },
    h('div', { class: 'article-editor' },
      field('正文', body, '可写 HTML（如 <p>、<h2>、<strong>、<ul>、<img src="https://…">）；不含标签的纯文本按空行分段。保存时服务器会清除不安全的内容。'),
      h('div', { class: 'field' }, h('span', { class: 'label', id: 'preview-label' }, '预览'), preview)));
  preview.setAttribute('aria-labelledby', 'preview-label');
  const readingPart = h('div', { class: 'reading-part' }, field('最短阅读时间（秒）', reading, '0 到 7200，默认 60。'));

  const drawPreview = () => clear(preview, previewNodes(articleHtml(body.value)));
  body.addEventListener('input', drawPreview);
  drawPreview();

  const show = () => {
    const media = kind !== 'article';
    mediaPart.hidden = !media;
    avPart.hidden = !(kind === 'video' || kind === 'audio');
    articlePart.hidden = kind !== 'article';
    readingPart.hidden = !(kind === 'article' || kind === 'pdf');
    file.accept = ACCEPT[kind] || '';
    fileHint.textContent = media ? `上传${LIMIT_HINT[kind]}。服务器按文件内容判断类型，并限制每种文件的大小（默认视频 500 MB、音频 100 MB、PDF 50 MB）。` : '';
    body.required = kind === 'article';
  };
  kindSelect.addEventListener('change', () => {
    kind = kindSelect.value;
    mediaId = null;
    file.value = '';
    progress.hidden = true;
    status.textContent = '尚未上传文件。';
    show();
  });
  show();

  const submitButton = () => file.closest('form')?.querySelector('button[type=submit]');
  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    if (!f) return;
    uploading = true;
    const submit = submitButton();
    if (submit) submit.disabled = true;
    progress.hidden = false;
    progress.value = 0;
    status.textContent = `正在上传 ${f.name}（${size(f.size)}）… 0%`;
    try {
      const form = new FormData();
      form.append('file', f, f.name);
      const m = await api.upload('POST', '/v1/media', form, {
        query: { file_name: f.name.slice(0, 255) },
        onProgress: (x) => {
          progress.value = x;
          status.textContent = `正在上传 ${f.name}（${size(f.size)}）… ${Math.round(x * 100)}%`;
        },
      });
      let switched = false;
      if (m.kind !== kind && isNew && ACCEPT[m.kind]) {
        // A new lesson takes the kind of the file chosen (decided by its content).
        kind = m.kind;
        kindSelect.value = kind;
        show();
        switched = true;
      }
      if (m.kind !== kind) {
        mediaId = null;
        progress.hidden = true;
        status.textContent = `这个文件是${lessonKinds[m.kind] || m.kind}，不是${lessonKinds[kind]}。请选择${LIMIT_HINT[kind]}。`;
        status.classList.add('bad');
        return;
      }
      status.classList.remove('bad');
      mediaId = m.id;
      external.value = '';
      if (m.duration_s && (kind === 'video' || kind === 'audio')) dur.value = String(m.duration_s);
      status.replaceChildren(h('span', { dataset: { media: m.id } },
        `已上传：${m.file_name || f.name}（${size(m.size_bytes)}${m.duration_s ? `，${duration(m.duration_s)}` : ''}），文件 #${m.id}`),
        switched ? `。按文件内容，课时类型已改为${lessonKinds[kind]}。` : null);
    } catch (e) {
      mediaId = full && full.kind === kind ? full.media_id ?? null : null;
      progress.hidden = true;
      status.textContent = `上传失败：${errorText(e)}`;
      status.classList.add('bad');
    } finally {
      uploading = false;
      if (submit) submit.disabled = false;
    }
  });

  const content = h('div', { class: 'lesson-editor' },
    isNew ? field('类型', kindSelect) : h('p', {}, `类型：${lessonKinds[kind]}`),
    field('课时名称', title),
    mediaPart, avPart, articlePart, readingPart);

  const num = (input) => (input.value.trim() === '' ? undefined : Number(input.value));
  const saved = await dialog(isNew ? `添加课时 · ${course.title}` : `编辑课时 · ${full.title}`, content, {
    submitText: '保存课时',
    onSubmit: async () => {
      if (uploading) throw new Error('文件还在上传，请稍候。');
      const req = { title: title.value.trim() };
      if (kind === 'article') {
        req.body = articleHtml(body.value);
      } else {
        const url = external.value.trim();
        if (mediaId && (isNew || mediaId !== full.media_id)) req.media_id = mediaId;
        if (url) req.external_url = url;
        else if (!isNew && full.url && !full.media_id && mediaId) req.external_url = null;
        if (isNew && !mediaId && !url) throw new Error('请上传文件或填写外部地址。');
        if (mediaId && url) throw new Error('上传的文件和外部地址只能二选一：请清空外部地址。');
      }
      if (kind === 'video' || kind === 'audio') {
        if (num(dur) !== undefined) req.duration_s = num(dur);
        if (num(coverage) !== undefined) req.min_coverage = num(coverage) / 100;
      }
      if (kind === 'article' || kind === 'pdf') {
        if (num(reading) !== undefined) req.min_reading_s = num(reading);
      }
      if (isNew) {
        req.kind = kind;
        return api.post(`/v1/courses/${course.id}/lessons`, req, { headers: { 'Idempotency-Key': idempotencyKey() } });
      }
      return api.patch(`/v1/lessons/${full.id}`, req);
    },
  });
  if (saved) toast(isNew ? '课时已添加。' : '课时已保存。', 'success');
  return saved;
}
