// latchkey's one script. Every page works without it; it adds the sign-up
// checks before any request, the strength meter, show/hide, inline server
// errors, the step from "Account verified" to the dashboard, and Copy and
// Download for recovery codes. Passkeys, which need a script, have their
// own (static/passkeys.js), loaded by the pages that use them.
//
// The rules mirror the server's (src/domain): same limits (read from the
// page), same messages. The password verdict is the server's own, asked of
// POST /password/check, so the page cannot disagree with POST /register.
(() => {
  'use strict';

  const root = document.body.dataset.root || '/';

  const MAX_NAME_CHARS = 100;

  // Rust's str::trim: Unicode White_Space only (JS trim() also drops U+FEFF).
  const trim = (value) => value.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');
  const codePoints = (value) => [...value].length;

  // DisplayName::parse, with the server's message for the first problem, or ''.
  function checkName(raw) {
    const name = trim(raw);
    if (name === '') return 'Enter your name.';
    if (codePoints(name) > MAX_NAME_CHARS) return 'Use at most 100 characters for your name.';
    if (/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(name)) {
      return 'Your name contains characters that are not allowed.';
    }
    return '';
  }

  const MAX_ADDRESS_OCTETS = 254;
  const MAX_LOCAL_PART_OCTETS = 64;
  const octets = (value) => new TextEncoder().encode(value).length;

  // EmailAddress::parse, with the server's message for the first problem,
  // or ''. Only what the server surely refuses; anything subtler is left
  // to it, and its 422 lands beside the field all the same.
  function checkEmail(raw) {
    const email = trim(raw);
    if (email === '') return 'Enter your email address.';
    if (octets(email) > 4 * MAX_ADDRESS_OCTETS) return 'This email address is too long.';
    const at = email.lastIndexOf('@');
    if (at < 1 || !email.slice(at + 1).includes('.')) {
      return 'Enter an email address like name@example.com.';
    }
    // Lengths are measured on the wire form; for ASCII that is the text.
    if (/^[\x00-\x7f]*$/.test(email)
      && (at > MAX_LOCAL_PART_OCTETS || email.length > MAX_ADDRESS_OCTETS)) {
      return 'This email address is too long.';
    }
    return '';
  }

  // A field's message in its `{id}-error` slot, and aria-invalid with it.
  function showFieldError(input, message) {
    const slot = document.getElementById(`${input.id}-error`);
    if (message) {
      slot.replaceChildren(message);
      input.setAttribute('aria-invalid', 'true');
    } else {
      slot.replaceChildren();
      input.removeAttribute('aria-invalid');
    }
  }

  // "Account verified": on to the dashboard after a moment to read it.
  // `replace`, so the link with its token leaves the history.
  const onward = document.querySelector('[data-redirect]');
  if (onward) {
    onward.hidden = false;
    const delay = Number(onward.dataset.redirectDelay) || 2500;
    setTimeout(() => window.location.replace(onward.dataset.redirect), delay);
  }

  // Show/hide for any password field that offers it (sign-up, log in).
  for (const toggle of document.querySelectorAll('[data-toggle-password]')) {
    const input = document.getElementById(toggle.getAttribute('aria-controls'));
    toggle.hidden = false;
    toggle.addEventListener('click', () => {
      const reveal = input.type === 'password';
      input.type = reveal ? 'text' : 'password';
      toggle.textContent = reveal ? 'Hide' : 'Show';
      toggle.setAttribute('aria-label', reveal ? 'Hide password' : 'Show password');
    });
  }

  const codes = document.querySelector('[data-recovery-codes]');
  if (codes) recoveryCodes(codes);
  // Codes a passkey's set-up shows once it is made (static/passkeys.js).
  document.addEventListener('latchkey:recovery-codes', (event) => recoveryCodes(event.target));

  const form = document.querySelector('form[data-signup]');
  if (form) signup(form);

  const newPasswordForm = document.querySelector('form[data-new-password]');
  if (newPasswordForm) newPassword(newPasswordForm);

  const renameForm = document.querySelector('form[data-rename]');
  if (renameForm) checkBeforeSending(renameForm, { name: checkName });

  const emailForm = document.querySelector('form[data-email-change]');
  if (emailForm) {
    checkBeforeSending(emailForm, {
      email: checkEmail,
      current_password: (value) => (value === '' ? 'Enter your current password.' : ''),
    });
  }

  // The dashboard's small forms (name, address): each field checked as
  // the sign-up checks it, before anything is sent; the server checks
  // again. Checked on submit, then as they are fixed; not on blur, where a
  // message appearing would move the button from under the click that
  // caused the blur.
  function checkBeforeSending(form, checks) {
    const inputs = Object.keys(checks).map((name) => [form.elements.namedItem(name), checks[name]]);
    let touched = false;
    for (const [input, check] of inputs) {
      input.addEventListener('input', () => {
        if (touched) showFieldError(input, check(input.value));
      });
    }
    form.addEventListener('submit', (event) => {
      let first = null;
      for (const [input, check] of inputs) {
        const problem = check(input.value);
        showFieldError(input, problem);
        if (problem && !first) first = input;
      }
      if (first) {
        event.preventDefault();
        touched = true;
        first.focus();
      }
    });
  }

  // A new password (the reset page, the dashboard's change form): the
  // strength meter and the server's own verdict from POST /password/check
  // (the policy the form's endpoint applies, with the account's name and
  // email from the form), and the two copies compared. The form then posts
  // as it would without the script; the server checks everything again.
  function newPassword(form) {
    const STRENGTH = ['Very weak', 'Weak', 'Fair', 'Good', 'Strong'];
    const input = form.querySelector('#password');
    const again = form.elements.namedItem('password_confirm');
    const strength = form.querySelector('[data-strength]');
    const meter = strength.querySelector('.meter');
    const label = document.getElementById('password-strength');
    const minLength = Number(form.dataset.minLength);
    const maxLength = Number(form.dataset.maxLength);
    let verdict = null; // { value, ok, errors }
    let timer = 0;

    function show(field, message) {
      document.getElementById(`${field.id}-error`).textContent = message;
      if (message) field.setAttribute('aria-invalid', 'true');
      else field.removeAttribute('aria-invalid');
    }

    function lengthProblem(value) {
      const length = [...value.normalize('NFKC')].length;
      if (length === 0) return 'Enter a password.';
      if (length > maxLength) return `Use at most ${maxLength} characters.`;
      if (length < minLength) return `Use at least ${minLength} characters.`;
      return '';
    }

    async function ask() {
      const value = input.value;
      if (verdict && verdict.value === value) return verdict;
      try {
        const response = await fetch(`${root}password/check`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ password: value, name: form.dataset.name, email: form.dataset.email }),
          credentials: 'same-origin',
        });
        if (!response.ok) return null;
        const body = await response.json();
        const messages = body.errors.map((error) => error.message).join(' ');
        verdict = { value, ok: body.ok, score: body.score, messages };
      } catch {
        return null;
      }
      if (verdict.value === input.value) {
        const score = verdict.ok ? verdict.score : Math.min(verdict.score, 1);
        meter.dataset.score = String(score);
        label.textContent = `Strength: ${STRENGTH[score]}.${verdict.ok ? '' : ` ${verdict.messages}`}`;
      }
      return verdict;
    }

    input.addEventListener('input', () => {
      clearTimeout(timer);
      strength.hidden = input.value === '';
      const problem = lengthProblem(input.value);
      meter.dataset.score = '0';
      label.textContent = problem || 'Checking…';
      if (!problem) timer = setTimeout(ask, 300);
    });

    form.addEventListener('submit', async (event) => {
      if (form.dataset.checked === 'yes') return;
      event.preventDefault();
      const problem = lengthProblem(input.value);
      const judged = problem ? null : await ask();
      const message = problem || (judged && !judged.ok ? judged.messages : '');
      show(input, message);
      if (message) {
        input.focus();
        return;
      }
      if (again) {
        const differ = again.value !== input.value ? 'The two passwords differ. Type the new password twice.' : '';
        show(again, differ);
        if (differ) {
          again.focus();
          return;
        }
      }
      form.dataset.checked = 'yes';
      form.requestSubmit();
    });
  }

  // Recovery codes, shown once: Copy puts them on the clipboard, Download
  // saves them as a text file. Without the script they are plain text.
  function recoveryCodes(list) {
    const actions = document.querySelector('[data-code-actions]');
    const status = document.querySelector('[data-code-status]');
    const values = [...list.querySelectorAll('code')].map((code) => code.textContent.trim());
    const text = [
      `latchkey recovery codes for ${list.dataset.account}`,
      'Each code signs you in once. Keep them somewhere safe.',
      '',
      ...values,
      '',
    ].join('\n');
    actions.hidden = false;

    actions.querySelector('[data-copy-codes]').addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(text);
        status.textContent = 'Copied the recovery codes.';
      } catch {
        // No clipboard access: select them, so the person can copy by hand.
        window.getSelection().selectAllChildren(list);
        status.textContent = 'Could not copy: the codes are selected, copy them by hand.';
      }
    });

    actions.querySelector('[data-download-codes]').addEventListener('click', () => {
      const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = 'latchkey-recovery-codes.txt';
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
      status.textContent = 'Downloaded latchkey-recovery-codes.txt.';
    });
  }

  function signup(form) {
    const show = showFieldError;

    const DEBOUNCE_MS = 300;
    const STRENGTH = ['Very weak', 'Weak', 'Fair', 'Good', 'Strong'];

    const minLength = Number(form.dataset.minLength);
    const maxLength = Number(form.dataset.maxLength);
    const inputs = {
      name: form.elements.namedItem('name'),
      email: form.elements.namedItem('email'),
      password: form.elements.namedItem('password'),
    };
    const formError = form.querySelector('[data-form-error]');
    const submitButton = form.querySelector('[data-submit]');
    const strength = form.querySelector('[data-strength]');
    const meter = strength.querySelector('.meter');
    const strengthLabel = document.getElementById('password-strength');
    const touched = new Set();

    // The length rules of PasswordPolicy::check, counted as the server
    // counts: NFKC-normalised code points.
    function checkPasswordLength(raw) {
      const length = codePoints(raw.normalize('NFKC'));
      if (length === 0) return 'Enter a password.';
      if (length > maxLength) return `Use at most ${maxLength} characters.`;
      if (length < minLength) return `Use at least ${minLength} characters.`;
      return '';
    }

    function link(href, text) {
      const a = document.createElement('a');
      a.href = href;
      a.textContent = text;
      return a;
    }

    // The same words and links as the server-rendered page.
    function emailTaken(email) {
      const message = document.createDocumentFragment();
      message.append(
        'This email is already registered. ',
        link(`${root}login`, 'Log in'),
        ' or ',
        link(`${root}password/forgot?email=${encodeURIComponent(email)}`, 'reset your password'),
        '.',
      );
      return message;
    }

    // --- the password verdict, from the server ---------------------------

    let verdict = null; // { key, ok, score, errors: [{ code, message }] }
    let pending = null; // { key, promise }
    let timer = 0;
    let controller = null;

    const verdictKey = () => JSON.stringify([inputs.password.value, inputs.name.value, inputs.email.value]);

    function askServer() {
      const key = verdictKey();
      if (verdict && verdict.key === key) return Promise.resolve(verdict);
      if (pending && pending.key === key) return pending.promise;
      if (controller) controller.abort();
      controller = new AbortController();
      const promise = fetch(`${root}password/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          password: inputs.password.value,
          name: inputs.name.value,
          email: inputs.email.value,
        }),
        signal: controller.signal,
        credentials: 'same-origin',
      })
        .then((response) => (response.ok ? response.json() : null))
        .then((body) => {
          if (!body) return null;
          const result = { key, ok: body.ok, score: body.score, errors: body.errors };
          if (key === verdictKey()) {
            verdict = result;
            renderVerdict();
          }
          return result;
        })
        .catch(() => null)
        .finally(() => {
          if (pending && pending.key === key) pending = null;
        });
      pending = { key, promise };
      return promise;
    }

    // The meter and its label follow every keystroke; the reasons go beside
    // the field (red, aria-invalid) once it was left or submitted, and into
    // the neutral label before that, so nobody is scolded mid-word.
    function renderVerdict() {
      const touchedNow = touched.has('password');
      const local = checkPasswordLength(inputs.password.value);
      const known = verdict && verdict.key === verdictKey();
      strength.hidden = inputs.password.value === '';
      let message = '';
      let state = 'pending';
      if (local) {
        meter.dataset.score = '0';
        strengthLabel.textContent = touchedNow ? '' : local;
        message = local;
        state = 'bad';
      } else if (known) {
        const score = verdict.ok ? verdict.score : Math.min(verdict.score, 1);
        meter.dataset.score = String(score);
        message = verdict.errors.map((error) => error.message).join(' ');
        strengthLabel.textContent = touchedNow || verdict.ok
          ? `Strength: ${STRENGTH[score]}.`
          : `Strength: ${STRENGTH[score]}. ${message}`;
        state = verdict.ok ? 'ok' : 'bad';
      } else {
        strengthLabel.textContent = 'Checking…';
      }
      // What the page concluded (pending, ok or bad), for the tests.
      inputs.password.dataset.verdict = state;
      if (touchedNow) show(inputs.password, message);
    }

    function schedulePasswordCheck() {
      clearTimeout(timer);
      renderVerdict();
      if (checkPasswordLength(inputs.password.value)) return;
      timer = setTimeout(askServer, DEBOUNCE_MS);
    }

    // --- wiring ---------------------------------------------------------

    const checks = { name: checkName, email: checkEmail };

    for (const field of ['name', 'email']) {
      const input = inputs[field];
      input.addEventListener('input', () => {
        if (touched.has(field)) show(input, checks[field](input.value));
        if (inputs.password.value) schedulePasswordCheck();
      });
      input.addEventListener('blur', () => {
        if (input.value === '' && !touched.has(field)) return;
        touched.add(field);
        show(input, checks[field](input.value));
      });
    }

    inputs.password.addEventListener('input', schedulePasswordCheck);
    inputs.password.addEventListener('blur', () => {
      if (inputs.password.value === '' && !touched.has('password')) return;
      touched.add('password');
      renderVerdict();
    });

    let busy = false;

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (busy) return;
      formError.textContent = '';
      for (const field of Object.keys(inputs)) touched.add(field);

      const problems = {
        name: checkName(inputs.name.value),
        email: checkEmail(inputs.email.value),
        password: checkPasswordLength(inputs.password.value),
      };
      show(inputs.name, problems.name);
      show(inputs.email, problems.email);
      renderVerdict();
      const first = Object.keys(inputs).find((field) => problems[field]);
      if (first) {
        inputs[first].focus();
        return;
      }

      busy = true;
      submitButton.setAttribute('aria-disabled', 'true');
      try {
        clearTimeout(timer);
        const judged = await askServer();
        // With no verdict (the check failed), the server decides below.
        if (judged && !judged.ok) {
          renderVerdict();
          inputs.password.focus();
          return;
        }
        await register();
      } finally {
        busy = false;
        submitButton.removeAttribute('aria-disabled');
      }
    });

    async function register() {
      const email = inputs.email.value;
      let response;
      let body = null;
      try {
        response = await fetch(`${root}register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({
            name: inputs.name.value,
            email,
            password: inputs.password.value,
          }),
          credentials: 'same-origin',
        });
        body = await response.json().catch(() => null);
      } catch {
        formError.textContent = 'Could not reach the server. Check your connection and try again.';
        return;
      }
      if (response.status === 201) {
        const address = body && body.user ? body.user.email : trim(email);
        window.location.assign(`${root}check-inbox?email=${encodeURIComponent(address)}`);
        return;
      }
      if (response.status === 409) {
        show(inputs.email, emailTaken(trim(email)));
        inputs.email.focus();
        return;
      }
      const fields = body && body.error && body.error.fields;
      if (response.status === 422 && fields) {
        let focus = null;
        for (const field of Object.keys(inputs)) {
          const messages = (fields[field] || []).map((error) => error.message).join(' ');
          show(inputs[field], messages);
          if (messages && !focus) focus = inputs[field];
        }
        if (focus) focus.focus();
        return;
      }
      formError.textContent = (body && body.error && body.error.message)
        || 'Something went wrong on our side. Try again later.';
    }
  }
})();
