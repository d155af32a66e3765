// Passkeys, for the pages that use them: adding one (the set-up page),
// the second step of a login with one, and signing in with one alone (the
// login page). Every ceremony is the server's (webauthn-rs); the page hands
// its options to the browser and the browser's answer back.
(() => {
  'use strict';

  const root = document.body.dataset.root || '/';

  const passkeyEnrol = document.querySelector('[data-passkey-enrol]');
  if (passkeyEnrol) addPasskey(passkeyEnrol);

  const passkeySignIn = document.querySelector('[data-passkey-signin]');
  if (passkeySignIn) signInWithPasskey(passkeySignIn);

  const passkeyLogin = document.querySelector('[data-passkey-login]');
  if (passkeyLogin) signInWithPasskeyAlone(passkeyLogin);

  // Passkeys. The server runs both ceremonies (POST /mfa/passkey/*, and
  // /mfa/verify); the page hands its options to the browser and the
  // browser's answer back, in the JSON forms WebAuthn defines for them
  // (parse...OptionsFromJSON, toJSON). The cookies say who is asking: the
  // session, or the login waiting for its second step.
  function passkeysWork() {
    return typeof window.PublicKeyCredential === 'function'
      && typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function'
      && typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function';
  }

  async function postJson(path, body) {
    const response = await fetch(`${root}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body),
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      // No JSON: the message below stands.
    }
    return { ok: response.ok, answer };
  }

  // The server's words for a refusal: a field's own problem (a passkey's
  // name) before the general message.
  function refusal(answer) {
    const error = answer && answer.error;
    const field = error && error.fields && Object.values(error.fields)[0];
    return (field && field[0].message) || (error && error.message)
      || 'Something went wrong on our side. Try again later.';
  }

  // One ceremony behind one button: the options from the server, the
  // browser's answer to them, that answer back to the server (with what
  // `extra` takes from the options' answer). Resolves to the server's last
  // answer, or to the message to show beside the button.
  async function ceremony({ begin, parse, ask, dismissed, finish, field, extra = () => ({}) }) {
    const started = await postJson(begin, {});
    if (!started.ok) return { message: refusal(started.answer) };
    let credential;
    try {
      credential = await ask({ publicKey: parse(started.answer.publicKey) });
    } catch {
      return { message: dismissed };
    }
    const finished = await postJson(finish, { ...extra(started.answer), [field]: credential.toJSON() });
    return finished.ok ? { answer: finished.answer } : { message: refusal(finished.answer) };
  }

  // The button runs `run` (which resolves to a message, or '') once at a
  // time; a browser without WebAuthn's JSON forms is told `unsupported`.
  function passkeyButton(section, selector, unsupported, run) {
    const button = section.querySelector(selector);
    const error = section.querySelector('[data-passkey-error]');
    if (!passkeysWork()) {
      error.textContent = unsupported;
      button.disabled = true;
      return;
    }
    button.addEventListener('click', async () => {
      button.disabled = true;
      error.textContent = '';
      try {
        error.textContent = await run();
      } finally {
        button.disabled = false;
      }
    });
  }

  // "Create a passkey": the browser makes it, the server keeps its public
  // half; the recovery codes issued with a first factor are shown here.
  function addPasskey(section) {
    passkeyButton(section, '[data-passkey-create]',
      'This browser cannot make passkeys. Choose another method, or another browser.',
      async () => {
        const name = section.querySelector('[data-passkey-name]').value.trim();
        const { answer, message } = await ceremony({
          begin: 'mfa/passkey/enroll',
          parse: (options) => PublicKeyCredential.parseCreationOptionsFromJSON(options),
          ask: (options) => navigator.credentials.create(options),
          dismissed: 'No passkey was made. Try again, or choose another method.',
          finish: 'mfa/passkey/confirm',
          field: 'credential',
          // Unnamed, the server calls it "Passkey 2" and the like.
          extra: () => (name ? { name } : {}),
        });
        if (message) return message;
        const issued = answer.recovery_codes || [];
        if (issued.length === 0) {
          window.location.assign(`${root}dashboard?notice=factor-added`);
          return '';
        }
        const done = document.querySelector('[data-passkey-done]');
        const list = done.querySelector('[data-passkey-codes]');
        list.replaceChildren(...issued.map((value) => {
          const item = document.createElement('li');
          const code = document.createElement('code');
          code.textContent = value;
          item.append(code);
          return item;
        }));
        section.hidden = true;
        done.hidden = false;
        // Copy and Download are app.js's.
        list.dispatchEvent(new CustomEvent('latchkey:recovery-codes', { bubbles: true }));
        return '';
      });
  }

  // "Use your passkey": the second step of a login.
  function signInWithPasskey(section) {
    passkeyButton(section, '[data-passkey-use]',
      'This browser cannot use passkeys. Use another method, or another browser.',
      async () => {
        const { message } = await ceremony({
          begin: 'mfa/passkey/options',
          parse: (options) => PublicKeyCredential.parseRequestOptionsFromJSON(options),
          ask: (options) => navigator.credentials.get(options),
          dismissed: 'The passkey did not answer. Try again, or use another method.',
          finish: 'mfa/verify',
          field: 'passkey',
        });
        if (message) return message;
        window.location.assign(`${root}dashboard`);
        return '';
      });
  }

  // "Sign in with a passkey": no address, no password. The options name no
  // passkey, so the device offers the ones it holds for this site; the
  // sealed ceremony they came with goes back with its answer.
  function signInWithPasskeyAlone(section) {
    passkeyButton(section, '[data-passkey-login-start]',
      'This browser cannot use passkeys. Log in with your email and password.',
      async () => {
        const { message } = await ceremony({
          begin: 'login/passkey/options',
          parse: (options) => PublicKeyCredential.parseRequestOptionsFromJSON(options),
          ask: (options) => navigator.credentials.get(options),
          dismissed: 'No passkey answered. Try again, or log in with your email and password.',
          finish: 'login/passkey',
          field: 'passkey',
          extra: (options) => ({ ceremony: options.ceremony }),
        });
        if (message) return message;
        window.location.assign(`${root}dashboard`);
        return '';
      });
  }
})();
