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

  // ---- Tag input: Enter (or comma) turns the typed text into a chip; × removes it ----
  // The rules of phone_numbers/tags.py: capitals and spaces become lower case and hyphens; the rest is said.
  const TAG_MAX = 32;
  const TAG_CHARSET = "lower-case letters a\u2013z, digits, hyphens (-) and underscores (_)";
  function tagNormalize(raw) { return raw.normalize("NFKC").toLowerCase().trim().split(/\s+/).join("-"); }

  function tagProblem(name) {
    if (/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(name)) return "\u201c" + name.slice(0, 40) + "\u201d contains invisible or control characters; type the tag again.";
    if (name.length > TAG_MAX) return "\u201c" + name.slice(0, 40) + "\u2026\u201d is too long: tags have at most " + TAG_MAX + " characters.";
    const bad = Array.from(new Set(name.replace(/[a-z0-9_-]/g, "")));
    if (bad.length) return "\u201c" + name + "\u201d can't have " + bad.join(" ") + " in it: tags use " + TAG_CHARSET + ".";
    if (!/^[a-z0-9]/.test(name)) return "\u201c" + name + "\u201d must start with a letter or a digit.";
    return "";
  }

  function sayTagProblem(widget, message) {
    let line = widget.querySelector("[data-tag-problem]");
    if (!message) { if (line) line.remove(); return; }
    if (!line) {
      line = document.createElement("p");
      line.className = "error";
      line.id = "tag-problem";
      line.setAttribute("data-tag-problem", "");
      line.setAttribute("role", "alert");
      widget.appendChild(line);
    }
    line.textContent = message;
  }

  // Adds the chip, or says what is wrong and leaves the text to fix; true when the box may be emptied.
  function addTag(widget, raw) {
    const name = tagNormalize(raw);
    if (!name) return true;
    const problem = tagProblem(name);
    sayTagProblem(widget, problem);
    if (problem) return false;
    const chips = widget.querySelector(".tag-chips");
    const taken = Array.from(chips.querySelectorAll("input[name=tags]")).some((i) => i.value === name);
    if (taken) return true;
    const li = document.createElement("li");
    li.className = "tag-chip";
    const hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = "tags"; hidden.value = name;
    const remove = document.createElement("button");
    remove.type = "button"; remove.className = "tag-remove"; remove.textContent = "\u00d7";
    remove.setAttribute("aria-label", "Remove tag " + name);
    remove.setAttribute("data-remove-tag", "");
    li.append(hidden, document.createTextNode(name), remove);
    chips.appendChild(li);
    return true;
  }

  document.addEventListener("keydown", function (event) {
    const input = event.target.closest("[data-tag-input] input[type=text]");
    if (!input) return;
    if (event.key === "Enter" || event.key === ",") {
      event.preventDefault(); // Enter adds a tag; it never submits the form from here
      if (addTag(input.closest("[data-tag-input]"), input.value)) input.value = "";
    } else if (event.key === "Backspace" && input.value === "") {
      const chips = input.closest("[data-tag-input]").querySelectorAll(".tag-chip");
      if (chips.length) chips[chips.length - 1].remove();
    }
  });
  // Picking a suggestion from the datalist adds it at once.
  document.addEventListener("input", function (event) {
    const input = event.target.closest("[data-tag-input] input[type=text]");
    if (input && event.inputType === "insertReplacementText") {
      if (addTag(input.closest("[data-tag-input]"), input.value)) input.value = "";
    } else if (input) {
      // Said while typing, so nobody finds out only at Enter; an empty box says nothing.
      const name = tagNormalize(input.value.replace(/,$/, ""));
      sayTagProblem(input.closest("[data-tag-input]"), name ? tagProblem(name) : "");
    }
    const match = event.target.closest("[data-confirm-match]");
    if (match) {
      const wanted = match.getAttribute("data-confirm-match").replace(/\D/g, "");
      const button = document.querySelector(match.getAttribute("data-enables"));
      if (button) button.disabled = match.value.replace(/\D/g, "") !== wanted;
    }
  });

  document.addEventListener("click", function (event) {
    // A click outside an open row menu, or on one of its items, closes it.
    const item = event.target.closest("[data-menu] [role=menuitem]");
    document.querySelectorAll("details[data-menu][open]").forEach((d) => {
      if (!d.contains(event.target) || (item && d.contains(item))) d.open = false;
    });
    const remove = event.target.closest("[data-remove-tag]");
    if (remove) {
      const widget = remove.closest("[data-tag-input]");
      remove.closest(".tag-chip").remove();
      widget.querySelector("input[type=text]").focus();
      return;
    }
    const fill = event.target.closest("[data-fill]");
    if (fill) {
      const field = document.querySelector(fill.getAttribute("data-fill"));
      field.value = fill.getAttribute("data-value");
      field.focus();
      return;
    }
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

  // Escape closes an open workspace switcher or row menu too.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-switcher][open], details[data-menu][open]").forEach((d) => {
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
