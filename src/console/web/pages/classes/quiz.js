// The quiz editor of a lesson: questions (single, multiple choice, true/false), options
// with the right ones marked, points, pass mark, attempts and when answers are shown.
// Saving replaces the whole quiz (PUT); it is refused once anyone has attempted it.

import { api, ApiError } from '../../api.js';
import { h, field, select, dialog, toast, uid } from '../../ui.js';
import { questionKinds, revealAnswers } from './common.js';

export async function editQuiz(lesson) {
  let quiz = null;
  if (lesson.has_quiz) {
    try {
      quiz = await api.get(`/v1/lessons/${lesson.id}/quiz`);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }
  const questions = quiz ? quiz.questions.map(fromView) : [blankQuestion('single')];
  const list = h('ol', { class: 'questions' });
  const passMark = h('input', { name: 'pass_mark_pct', type: 'number', min: 1, max: 100, step: 1, required: true, value: String(quiz ? quiz.pass_mark_pct : 60) });
  const maxAttempts = h('input', { name: 'max_attempts', type: 'number', min: 1, max: 20, step: 1, value: quiz && quiz.max_attempts ? String(quiz.max_attempts) : '' });
  const reveal = select('reveal_answers', Object.entries(revealAnswers), quiz ? quiz.reveal_answers : 'after_pass_or_last_attempt');

  const draw = () => list.replaceChildren(...questions.map((q, i) => questionEditor(q, i)));
  const questionEditor = (q, i) => {
    const kind = select(`q${i}-kind`, Object.entries(questionKinds), q.kind);
    kind.addEventListener('change', () => {
      q.kind = kind.value;
      if (q.kind !== 'true_false' && q.options.length < 2) q.options = [blankOption(), blankOption()];
      if (q.kind === 'single' && q.options.filter((o) => o.correct).length > 1) q.options.forEach((o, j) => { o.correct = j === q.options.findIndex((x) => x.correct); });
      draw();
      list.querySelectorAll('select')[i]?.focus();
    });
    const text = h('textarea', { rows: 2, maxlength: 500, required: true, value: q.text });
    text.addEventListener('input', () => { q.text = text.value; });
    const points = h('input', { type: 'number', min: 1, max: 10, step: 1, value: String(q.points) });
    points.addEventListener('input', () => { q.points = points.value; });
    const remove = h('button', { type: 'button', class: 'danger', disabled: questions.length <= 1, onclick: () => { questions.splice(i, 1); draw(); } }, '删除此题');
    let answers;
    if (q.kind === 'true_false') {
      const group = uid('tf');
      answers = h('fieldset', { class: 'options' }, h('legend', {}, '正确答案'),
        [[true, '正确'], [false, '错误']].map(([v, label]) => {
          const r = h('input', { type: 'radio', name: group, value: String(v), checked: q.answer === v, required: true });
          r.addEventListener('change', () => { q.answer = v; });
          return h('label', { class: 'option' }, r, ` ${label}`);
        }));
    } else {
      const group = uid('opt');
      const add = h('button', { type: 'button', disabled: q.options.length >= 8, onclick: () => { q.options.push(blankOption()); draw(); } }, '添加选项');
      answers = h('fieldset', { class: 'options' },
        h('legend', {}, q.kind === 'single' ? '选项（选出唯一正确的一项）' : '选项（勾选所有正确的项）'),
        q.options.map((o, j) => {
          const mark = q.kind === 'single'
            ? h('input', { type: 'radio', name: group, checked: o.correct, 'aria-label': `选项 ${letter(j)} 正确` })
            : h('input', { type: 'checkbox', checked: o.correct, 'aria-label': `选项 ${letter(j)} 正确` });
          mark.addEventListener('change', () => {
            if (q.kind === 'single') q.options.forEach((x, k) => { x.correct = k === j; });
            else o.correct = mark.checked;
          });
          const t = h('input', { type: 'text', maxlength: 200, required: true, value: o.text, 'aria-label': `选项 ${letter(j)}` });
          t.addEventListener('input', () => { o.text = t.value; });
          const del = h('button', { type: 'button', class: 'link', disabled: q.options.length <= 2, 'aria-label': `删除选项 ${letter(j)}`, onclick: () => { q.options.splice(j, 1); draw(); } }, '删除');
          return h('div', { class: 'option' }, h('span', { class: 'letter', 'aria-hidden': 'true' }, letter(j)), mark, t, del);
        }),
        add);
    }
    return h('li', { class: 'question', dataset: { question: i } },
      h('div', { class: 'question-head' }, field('题型', kind), field('分值', points), remove),
      field(`第 ${i + 1} 题 题干`, text),
      answers);
  };
  draw();

  const addQuestion = h('button', { type: 'button', onclick: () => {
    if (questions.length >= 50) return;
    questions.push(blankQuestion('single'));
    draw();
    list.lastElementChild?.querySelector('textarea')?.focus();
  } }, '添加题目');
  const body = h('div', { class: 'quiz-editor' },
    quiz && quiz.attempts_used > 0 ? h('p', { class: 'muted' }, '已有党员答过这份测验，保存会被拒绝。') : null,
    h('div', { class: 'quiz-settings' },
      field('及格线（%）', passMark, '得分达到该比例即通过，1 到 100。'),
      field('每人最多作答次数', maxAttempts, '1 到 20；不填为不限次数。'),
      field('答案显示', reveal)),
    list,
    h('div', { class: 'toolbar' }, addQuestion));
  const saved = await dialog(`测验 · ${lesson.title}`, body, {
    submitText: '保存测验',
    onSubmit: async () => {
      for (const [i, q] of questions.entries()) {
        if (q.kind === 'true_false' && q.answer === null) throw new Error(`第 ${i + 1} 题：请选择正确答案。`);
        if (q.kind !== 'true_false' && !q.options.some((o) => o.correct)) throw new Error(`第 ${i + 1} 题：请标出正确的选项。`);
      }
      const req = {
        pass_mark_pct: Number(passMark.value),
        max_attempts: maxAttempts.value.trim() ? Number(maxAttempts.value) : null,
        reveal_answers: reveal.value,
        questions: questions.map((q) => {
          const out = { kind: q.kind, text: q.text.trim(), points: Number(q.points) || 1 };
          if (q.kind === 'true_false') out.answer = q.answer;
          else out.options = q.options.map((o) => ({ text: o.text.trim(), correct: !!o.correct }));
          return out;
        }),
      };
      return api.put(`/v1/lessons/${lesson.id}/quiz`, req);
    },
  });
  if (saved) toast('测验已保存。', 'success');
  return saved;
}

function letter(j) { return String.fromCharCode(65 + j); }
function blankOption() { return { text: '', correct: false }; }
function blankQuestion(kind) {
  return { kind, text: '', points: 1, answer: null, options: kind === 'true_false' ? [] : [blankOption(), blankOption(), blankOption(), blankOption()] };
}

// A question as the API shows it to its managers → the editor's form. A true/false
// question comes as the options 正确/错误 with the right one marked.
function fromView(q) {
  if (q.kind === 'true_false') {
    const right = q.options.find((o) => o.correct);
    return { kind: q.kind, text: q.text, points: q.points, answer: right ? right.text === '正确' : null, options: [] };
  }
  return { kind: q.kind, text: q.text, points: q.points, answer: null, options: q.options.map((o) => ({ text: o.text, correct: !!o.correct })) };
}
