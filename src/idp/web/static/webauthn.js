/* Nidan's WebAuthn ceremony: the only script a security key needs, and the only place the
 * browser's WebAuthn API is called.
 *
 * The page carries the ceremony's options in <script type="application/json"
 * id="webauthn-options"> ({"kind": "get"|"create", "options": <PublicKeyCredential*Options
 * JSON>}) and an ordinary CSRF-protected form #webauthn-form with a hidden field
 * "credential". On submit this runs navigator.credentials.get() or create(), writes the
 * credential as JSON (PublicKeyCredential.toJSON()) into the hidden field and submits the
 * form. The server checks everything; this file only carries bytes.
 *
 * Cancelled or timed out: nothing is submitted (not a failed try) and a message says to
 * press the button again. No WebAuthn in this browser: a message offers the other method.
 */
(function () {
  "use strict";

  var form = document.getElementById("webauthn-form");
  if (!form) {
    return;
  }
  var island = document.getElementById("webauthn-options");
  var field = document.getElementById("webauthn-credential");
  var button = document.getElementById("webauthn-start");
  var unsupported = document.getElementById("webauthn-unsupported");
  var cancelled = document.getElementById("webauthn-cancelled");
  var registered = document.getElementById("webauthn-registered");

  function show(element, visible) {
    if (element) {
      element.hidden = !visible;
    }
  }

  show(document.getElementById("webauthn-nojs"), false); // script runs: that note is moot

  if (!window.PublicKeyCredential || !navigator.credentials || !island || !field) {
    show(unsupported, true);
    if (button) {
      button.disabled = true;
    }
    return;
  }

  function fromB64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var raw = window.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i += 1) {
      raw += String.fromCharCode(bytes[i]);
    }
    return window.btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var copy = { type: item.type || "public-key", id: fromB64url(item.id) };
      if (item.transports) {
        copy.transports = item.transports;
      }
      return copy;
    });
  }

  function publicKeyOptions(ceremony) {
    var options = JSON.parse(JSON.stringify(ceremony.options));
    options.challenge = fromB64url(options.challenge);
    if (ceremony.kind === "create") {
      options.user.id = fromB64url(options.user.id);
      options.excludeCredentials = descriptors(options.excludeCredentials);
    } else {
      options.allowCredentials = descriptors(options.allowCredentials);
    }
    return options;
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") {
      return credential.toJSON();
    }
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: { clientDataJSON: toB64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toB64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64url(response.authenticatorData);
      out.response.signature = toB64url(response.signature);
      if (response.userHandle) {
        out.response.userHandle = toB64url(response.userHandle);
      }
    }
    return out;
  }

  form.addEventListener("submit", function (event) {
    if (field.value) {
      return; // answered: let the form go
    }
    event.preventDefault();
    show(cancelled, false);
    show(registered, false);
    button.disabled = true;
    var ceremony = JSON.parse(island.textContent);
    var request = { publicKey: publicKeyOptions(ceremony) };
    var pending = ceremony.kind === "create"
      ? navigator.credentials.create(request)
      : navigator.credentials.get(request);
    pending.then(function (credential) {
      field.value = JSON.stringify(credentialJSON(credential));
      form.submit();
    }).catch(function (error) {
      button.disabled = false;
      if (error && error.name === "InvalidStateError") {
        show(registered, true); // excludeCredentials: this key is already registered
      } else {
        show(cancelled, true); // NotAllowedError: cancelled, timed out, or refused
      }
    });
  });
}());
