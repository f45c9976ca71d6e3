// Dialtone's only script beside htmx: modal, confirm dialog, toasts, copy buttons.
// Everything is wired by data attributes, so no inline handlers are needed (strict CSP).
(function () {
  "use strict";

  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  let opener = null; // the element that opened the modal, to return focus to

  function modal() { return document.getElementById("modal"); }

  function focusFirst(dialog) {
    const target = dialog.querySelector("[autofocus]") ||
      dialog.querySelector(".modal-content " + FOCUSABLE) || dialog.querySelector(FOCUSABLE);
    if (target) target.focus();
  }

  function openModal() {
    const dialog = modal();
    if (!dialog.open) {
      opener = document.activeElement;
      dialog.showModal();
    }
    focusFirst(dialog);
  }

  function closeModal() {
    const dialog = modal();
    if (dialog.open) dialog.close();
  }

  // Keep Tab inside an open dialog (showModal makes the page inert; this also keeps focus off the browser chrome).
  function trapTab(event) {
    if (event.key !== "Tab") return;
    const dialog = event.currentTarget;
    const items = Array.from(dialog.querySelectorAll(FOCUSABLE)).filter((el) => el.offsetParent !== null);
    if (items.length === 0) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) { last.focus(); event.preventDefault(); }
    else if (!event.shiftKey && document.activeElement === last) { first.focus(); event.preventDefault(); }
  }

  // ---- Toasts ----
  function toast(message, level) {
    const region = document.getElementById("toasts");
    const el = document.createElement("div");
    el.className = "toast toast-" + (level || "info");
    el.setAttribute("data-toast", "");
    el.textContent = message;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.setAttribute("data-dismiss-toast", "");
    close.textContent = "\u00d7";
    el.appendChild(close);
    region.appendChild(el);
    autoDismiss(el);
  }

  function autoDismiss(el) {
    const errors = el.classList.contains("toast-error");
    if (!errors) setTimeout(() => el.remove(), 6000); // errors stay until dismissed
  }

  // ---- Confirm dialog for hx-confirm ----
  function askConfirm(question, onConfirm) {
    const dialog = document.getElementById("confirm");
    dialog.querySelector("#confirm-text").textContent = question;
    const returnTo = document.activeElement;
    dialog.returnValue = "";
    dialog.addEventListener("close", function handler() {
      dialog.removeEventListener("close", handler);
      if (returnTo && returnTo.focus) returnTo.focus();
      if (dialog.returnValue === "ok") onConfirm();
    });
    dialog.showModal();
    dialog.querySelector("[data-confirm-cancel]").focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const dialog = modal();
    dialog.addEventListener("keydown", trapTab);
    document.getElementById("confirm").addEventListener("keydown", trapTab);
    dialog.addEventListener("close", function () {
      document.getElementById("modal-body").replaceChildren();
      if (opener && opener.isConnected && opener.focus) opener.focus();
      opener = null;
    });
    // A click on the backdrop (the dialog element itself, outside its card) closes it.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) closeModal();
    });
    document.querySelectorAll("[data-toast]").forEach(autoDismiss);
  });

  document.addEventListener("click", function (event) {
    const target = event.target.closest("[data-close-modal], [data-dismiss-toast], [data-copy]");
    if (!target) return;
    if (target.hasAttribute("data-close-modal")) { closeModal(); return; }
    if (target.hasAttribute("data-dismiss-toast")) { target.closest("[data-toast]").remove(); return; }
    const text = target.getAttribute("data-copy");
    navigator.clipboard.writeText(text).then(
      () => toast("Copied " + text, "success"),
      () => toast("Could not copy: select the text and copy it by hand.", "error"),
    );
  });

  // Escape closes an open workspace switcher too.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-switcher][open]").forEach((d) => {
      d.open = false;
      d.querySelector("summary").focus();
    });
  });

  // htmx: fragments swapped into the modal body open the modal.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "modal-body") {
      if (event.detail.target.children.length) openModal(); else closeModal();
    }
  });
  document.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.question) return;
    event.preventDefault();
    askConfirm(event.detail.question, () => event.detail.issueRequest(true));
  });
  document.addEventListener("toast", function (event) {
    (event.detail.value || []).forEach((t) => toast(t.message, t.level));
  });
  document.addEventListener("closeModal", closeModal);
  // Errors that reach no fragment still get said, in plain words.
  document.addEventListener("htmx:responseError", function (event) {
    const status = event.detail.xhr.status;
    if (status === 422) return; // a form with inline errors: the fragment says it
    const words = status === 403 ? "Your role does not allow that here." :
      status === 404 ? "That no longer exists." : "Something went wrong (" + status + "). Try again.";
    toast(words, "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Dialtone could not be reached. Check your connection and try again.", "error");
  });
})();
