// Dialtone's only script beside htmx: modals (and modals opened as pages), confirm dialog, toasts, copy buttons,
// remembered sections.
// Everything is wired by data attributes, so no inline handlers are needed (strict CSP).
(function () {
  "use strict";

  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  const FIELD = 'input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled])';
  const INVALID = ".has-error :is(" + FIELD + "), [aria-invalid=true]";

  // ---- Modal ----
  // One <dialog> (components/modal.html) shows the fragments htmx swaps into #modal-body. A modal opened by
  // URL is a page: the same card in <main>, whose Close, Cancel and submit go back to the `next` it carries.
  let opener = null; // what opened the modal: focus goes back to it, or to its stand-in after a refresh
  let focused = null; // what had focus before a swap, to find its stand-in in what replaced it

  function modal() { return document.getElementById("modal"); }

  // A modal card standing as a page (not in the dialog), or null.
  function pageCard(el) {
    const card = el && el.closest && el.closest(".modal-card");
    return card && !card.closest("dialog") ? card : null;
  }

  // Where a person starts in a modal: the first field with an error (a page refused), else the first field.
  function focusFirst(scope) {
    const target = scope.querySelector(INVALID) || scope.querySelector("[autofocus]") ||
      scope.querySelector(".modal-content :is(" + FIELD + ")") ||
      scope.querySelector(".modal-content :is(" + FOCUSABLE + ")") || scope.querySelector(FOCUSABLE);
    if (target) target.focus();
  }

  // The element standing for `el` once a swap replaced it: itself, or the one with its id, link or name.
  function counterpart(el, scope) {
    if (!el || el === document.body) return null;
    if (el.isConnected) return el;
    for (const attr of ["id", "hx-get", "name"]) {
      const value = el.getAttribute(attr);
      const found = value && scope.querySelector(el.tagName + "[" + attr + '="' + CSS.escape(value) + '"]');
      if (found) return found;
    }
    return el.type === "submit" ? scope.querySelector("[type=submit]") : null;
  }

  // After a re-render (a cascade select, a refused submit): focus stays on what had it, or goes to the first
  // field with an error after a submit, else to the first field.
  function refocus(scope, status) {
    const invalid = status === 422 && scope.querySelector(INVALID);
    const target = invalid || counterpart(focused, scope);
    if (target && scope.contains(target)) target.focus(); else focusFirst(scope);
  }

  // Back to the opener (a row menu's item: the menu's button), else to the page.
  function returnFocus() {
    const el = counterpart(opener, document);
    const menu = el && el.closest("details:not([open])");
    const target = menu ? menu.querySelector("summary") : el;
    if (target && target.isConnected) target.focus(); else document.getElementById("main").focus();
  }

  function closeModal() {
    const dialog = modal();
    if (dialog.open) dialog.close();
  }

  // The page as it is now, re-read at its URL (which keeps the search, filters and page) and swapped into
  // <main> in place. Asked as a plain page request: every view answers it whole, never with a fragment.
  // Focus goes back once the new content is in (htmx:afterSwap below): htmx.ajax's promise may settle
  // before the swap, when the old element still has focus.
  let refreshing = false;
  function refreshPage() {
    refreshing = true;
    htmx.ajax("GET", location.href, {
      target: "#main", select: "#main > *", swap: "innerHTML", headers: { "HX-Request": "false" },
    });
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
  // Its buttons say what they do: the asking element names them (data-confirm-ok, data-confirm-cancel,
  // and data-confirm-title for the heading), so "Cancel" never has to mean both "stop" and "go on".
  function askConfirm(question, onConfirm, source) {
    const dialog = document.getElementById("confirm");
    const named = (attr, fallback) => {
      const holder = source && source.closest("[" + attr + "]");
      return holder ? holder.getAttribute(attr) : fallback;
    };
    dialog.querySelector("#confirm-title").textContent = named("data-confirm-title", "Are you sure?");
    dialog.querySelector("#confirm-text").textContent = question;
    dialog.querySelector("#confirm-ok").textContent = named("data-confirm-ok", "Confirm");
    dialog.querySelector("#confirm-cancel").textContent = named("data-confirm-cancel", "Cancel");
    const returnTo = document.activeElement;
    dialog.returnValue = "";
    dialog.addEventListener("close", function handler() {
      dialog.removeEventListener("close", handler);
      if (returnTo && returnTo.focus) returnTo.focus();
      if (dialog.returnValue === "ok") onConfirm();
    });
    dialog.showModal();
    dialog.querySelector("#confirm-cancel").focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const dialog = modal();
    dialog.addEventListener("keydown", trapTab);
    document.getElementById("confirm").addEventListener("keydown", trapTab);
    dialog.addEventListener("close", function () {
      document.getElementById("modal-body").replaceChildren();
      returnFocus();
    });
    // A click on the backdrop (the dialog element itself, outside its card) closes it.
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) closeModal();
    });
    document.querySelectorAll("[data-toast]").forEach(autoDismiss);
    const card = pageCard(document.querySelector("#main .modal-card"));
    if (card) focusFirst(card);
  });

  // ---- Navigation drawer on narrow screens: the top bar's menu link opens the sidebar ----
  // Without JS the link's #sidebar target opens it (CSS :target); with JS it is a button that also
  // moves focus in, makes the page behind inert, and closes on Escape, a backdrop click or the close link.
  function navToggle() { return document.querySelector("[data-nav-toggle]"); }
  function navOpen() { const t = navToggle(); return !!t && t.getAttribute("aria-expanded") === "true"; }
  function setNav(open, focusToggle) {
    const toggle = navToggle();
    const sidebar = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("nav-open", open);
    document.getElementById("main").inert = open;
    if (open) (sidebar.querySelector("[aria-current=page]") || sidebar.querySelector("a[href], summary")).focus();
    else if (focusToggle) toggle.focus();
  }
  document.addEventListener("click", function (event) {
    if (!navToggle()) return;
    if (event.target.closest("[data-nav-toggle]")) { event.preventDefault(); setNav(!navOpen(), true); }
    else if (event.target.closest("[data-nav-close]")) { event.preventDefault(); setNav(false, true); }
    else if (navOpen() && !event.target.closest("#sidebar")) setNav(false, false); // the backdrop
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === " " && event.target.closest("[data-nav-toggle], [data-nav-close]")) { event.preventDefault(); event.target.click(); }
    // An open switcher inside the drawer closes first (the handler below), the drawer on the next Escape.
    if (event.key === "Escape" && navOpen() && !document.querySelector("#sidebar details[open]")) setNav(false, true);
  }, true);
  // Widened past the drawer's breakpoint (a rotated tablet): the sidebar is back, so nothing stays inert.
  window.matchMedia("(min-width: 821px)").addEventListener("change", function (event) {
    if (event.matches && navOpen()) setNav(false, false);
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
    if (target.hasAttribute("data-close-modal")) {
      const card = pageCard(target);
      if (!card) { closeModal(); return; }
      const next = card.querySelector("input[name=next]"); // a modal opened by URL: back where they came from
      location.assign(next ? next.value : "/");
      return;
    }
    if (target.hasAttribute("data-dismiss-toast")) { target.closest("[data-toast]").remove(); return; }
    const text = target.getAttribute("data-copy");
    navigator.clipboard.writeText(text).then(
      () => toast("Copied " + text, "success"),
      () => toast("Could not copy: select the text and copy it by hand.", "error"),
    );
  });

  // ---- New number finder: fields that apply to some countries only follow the country radio ----
  // (the server renders the same state; this saves a round trip before the list refreshes).
  document.addEventListener("change", function (event) {
    const country = event.target.closest("[data-finder] input[name=country]");
    if (!country) return;
    const finder = country.closest("[data-finder]");
    finder.querySelectorAll("[data-countries]").forEach(function (input) {
      input.disabled = !input.getAttribute("data-countries").split(" ").includes(country.value);
      if (input.disabled && input.checked) {
        input.checked = false; // a kind this country does not sell: fall back to the first it does
        const other = finder.querySelector('input[name="' + input.name + '"]:not(:disabled)');
        if (other) other.checked = true;
      }
    });
    const example = "data-placeholder-" + country.value.toLowerCase();
    finder.querySelectorAll("[" + example + "]").forEach((input) => { input.placeholder = input.getAttribute(example); });
  });

  // Escape closes an open workspace switcher or row menu too.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-switcher][open], details[data-menu][open]").forEach((d) => {
      d.open = false;
      d.querySelector("summary").focus();
    });
  });

  // ---- Sections stay as the person left them: <details data-remember="workspace:key">, in this browser ----
  const CLOSED = "dialtone:closed:";
  function restoreSections(scope) {
    scope.querySelectorAll("details[data-remember]").forEach((d) => {
      if (localStorage.getItem(CLOSED + d.dataset.remember)) d.open = false;
    });
  }
  restoreSections(document); // the script is deferred: the page is parsed, and not yet shown as a rule
  document.addEventListener("toggle", function (event) { // toggle does not bubble: caught on its way down
    const d = event.target;
    if (!(d instanceof HTMLDetailsElement) || !d.dataset.remember) return;
    if (d.open) localStorage.removeItem(CLOSED + d.dataset.remember);
    else localStorage.setItem(CLOSED + d.dataset.remember, "1");
  }, true);

  // A Ctrl/⌘/Shift click on a link htmx would load opens it in a new tab or window, as a page, the way links do.
  document.addEventListener("click", function (event) {
    if ((event.ctrlKey || event.metaKey || event.shiftKey) && event.target.closest("a[href][hx-get]")) {
      event.stopPropagation(); // caught on the way down: htmx, listening on the link, never sees it
    }
  }, true);

  // htmx: a request into the modal body remembers its opener; the fragment opens the modal, or re-renders it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.requestConfig.elt;
    const card = pageCard(elt);
    if (!card && event.detail.target && event.detail.target.id === "modal-body" && !modal().open) opener = elt;
    // A modal opened by URL posts as a page does: the server answers with a redirect back (tenants/http.py).
    if (card && elt === card && event.detail.requestConfig.verb === "post") {
      event.preventDefault();
      HTMLFormElement.prototype.submit.call(card);
    }
  });
  // What a modal asks the server for carries its `next`, so the modal it leads to goes back there too.
  document.addEventListener("htmx:configRequest", function (event) {
    const card = event.detail.elt.closest(".modal-card");
    const next = card && card.querySelector("input[name=next]");
    if (next && !event.detail.parameters.has("next")) event.detail.parameters.next = next.value;
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    focused = document.activeElement;
    // On a modal opened by URL, what would re-render the dialog re-renders the page's card.
    const card = pageCard(event.detail.requestConfig.elt);
    if (card && event.detail.target && event.detail.target.id === "modal-body") event.detail.target = card.parentElement;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    restoreSections(event.target); // the swapped-in content, before it is painted
    const target = event.detail.target;
    const status = event.detail.xhr.status;
    if (refreshing && target.id === "main") {
      refreshing = false;
      const lost = !document.activeElement || document.activeElement === document.body;
      if (!modal().open && lost) returnFocus();
    }
    if (target.id === "modal-body") {
      const dialog = modal();
      if (!target.children.length) closeModal();
      else if (dialog.open) refocus(dialog, status);
      else { dialog.showModal(); focusFirst(dialog); }
    } else if (pageCard(target.querySelector(":scope > .modal-card"))) {
      refocus(target, status);
    }
  });
  // A write succeeded (tenants/http.py: finish): the modal closes and the page refreshes in place.
  document.addEventListener("written", function () {
    closeModal();
    refreshPage();
  });
  document.addEventListener("htmx:confirm", function (event) {
    if (!event.detail.question) return;
    event.preventDefault();
    askConfirm(event.detail.question, () => event.detail.issueRequest(true), event.detail.elt);
  });
  document.addEventListener("toast", function (event) {
    (event.detail.value || []).forEach((t) => toast(t.message, t.level));
  });
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
  // ---- Bulk selection (templates/numbers/list.html): row boxes belong to #bulk-form by their form attribute.
  function bulkBoxes() { return document.querySelectorAll('input[name="number"][form="bulk-form"]'); }
  function bulkCount() {
    const form = document.getElementById("bulk-form");
    if (!form) return;
    const boxes = Array.from(bulkBoxes());
    const ticked = boxes.filter((b) => b.checked).length;
    const all = form.querySelector("[data-bulk-all]");
    const page = form.querySelector("[data-bulk-page]");
    if (page) page.checked = boxes.length > 0 && ticked === boxes.length;
    const said = form.querySelector("[data-bulk-count]");
    if (said) said.textContent = all && all.checked ? "All matching selected" : ticked ? ticked + " selected" : "None selected";
  }
  document.addEventListener("change", function (event) {
    const page = event.target.closest("[data-bulk-page]");
    if (page) bulkBoxes().forEach((b) => { b.checked = page.checked; });
    if (page || event.target.closest("[data-bulk-all]") || event.target.matches('input[name="number"][form="bulk-form"]')) bulkCount();
  });
  document.addEventListener("htmx:afterSettle", bulkCount);
})();
