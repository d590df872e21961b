// Samhand: the browser's own form validation in Norwegian. Chromium and others
// word their messages («Please fill out this field») in the browser's language,
// not the page's; this sets a Norwegian message on each `invalid` event instead.
// Served as /static/skjema.js (the CSP allows no inline script). The server checks
// every form again and answers in Norwegian next to the field; this only words
// the browser's first check.
"use strict";

(function () {
  function dateText(value) {
    // yyyy-mm-dd as dd.mm.yyyy, as Samhand writes dates.
    const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
    return parts ? parts[3] + "." + parts[2] + "." + parts[1] : value;
  }

  function limit(field, value) {
    return field.type === "date" ? dateText(value) : value;
  }

  function norwegianMessage(field) {
    const v = field.validity;
    if (v.valueMissing) {
      if (field.type === "checkbox") return "Kryss av i denne boksen for å gå videre.";
      if (field.type === "radio") return "Velg ett av alternativene.";
      if (field.tagName === "SELECT") return "Velg et alternativ i listen.";
      if (field.type === "file") return "Velg en fil.";
      return "Fyll ut dette feltet.";
    }
    if (v.badInput) {
      if (field.type === "number") return "Skriv et tall.";
      if (field.type === "date") return "Skriv en gyldig dato (dd.mm.åååå).";
      return "Verdien er ikke gyldig.";
    }
    if (v.typeMismatch) {
      if (field.type === "email") return "Skriv en gyldig e-postadresse.";
      if (field.type === "url") return "Skriv en gyldig nettadresse.";
      return "Verdien har feil format.";
    }
    if (v.patternMismatch) {
      return field.title ? "Bruk riktig format: " + field.title : "Verdien har feil format.";
    }
    if (v.rangeUnderflow) {
      return field.type === "date"
        ? "Datoen kan ikke være før " + limit(field, field.min) + "."
        : "Verdien må være " + field.min + " eller mer.";
    }
    if (v.rangeOverflow) {
      return field.type === "date"
        ? "Datoen kan ikke være etter " + limit(field, field.max) + "."
        : "Verdien må være " + field.max + " eller mindre.";
    }
    if (v.stepMismatch) return "Verdien er ikke gyldig her.";
    if (v.tooShort) return "Skriv minst " + field.minLength + " tegn (nå " + field.value.length + ").";
    if (v.tooLong) return "Skriv høyst " + field.maxLength + " tegn (nå " + field.value.length + ").";
    return "Verdien er ikke gyldig.";
  }

  function isField(target) {
    return target && typeof target.setCustomValidity === "function";
  }

  // `invalid` does not bubble: listen while it is captured.
  document.addEventListener(
    "invalid",
    function (event) {
      const field = event.target;
      if (!isField(field)) return;
      // Clear the message set last time, so validity reflects the value now.
      field.setCustomValidity("");
      if (!field.validity.valid) field.setCustomValidity(norwegianMessage(field));
    },
    true,
  );

  // A changed value is judged afresh at the next check.
  function clear(event) {
    if (isField(event.target)) event.target.setCustomValidity("");
  }
  document.addEventListener("input", clear, true);
  document.addEventListener("change", clear, true);
})();
