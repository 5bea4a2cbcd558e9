// Allot console: the few live parts. Every page works without this
// script; it only adds confirmations and the import's live progress.
"use strict";

// A button or form with data-confirm asks before it posts.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const text = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (text && !window.confirm(text)) {
    event.preventDefault();
  }
});

// An import in progress: follow its server-sent events, move the bar,
// and show the outcome when it is done.
document.querySelectorAll("[data-progress]").forEach((box) => {
  const bar = box.querySelector("progress");
  const processed = box.querySelector("[data-processed]");
  const total = box.querySelector("[data-total]");
  const events = new EventSource(box.dataset.progress);
  events.addEventListener("progress", (event) => {
    const p = JSON.parse(event.data);
    if (p.total > 0) {
      bar.max = p.total;
      total.textContent = p.total;
    }
    bar.value = p.processed;
    processed.textContent = p.processed;
    if (p.done) {
      events.close();
      window.location.reload();
    }
  });
  events.onerror = () => {
    // The stream ended (done, or the connection dropped): look again,
    // waiting longer after each failure (1 s, 2 s, 4 s, … up to a minute).
    events.close();
    const key = "allot-retries:" + box.dataset.progress;
    const tries = Number(window.sessionStorage.getItem(key) || "0");
    window.sessionStorage.setItem(key, String(tries + 1));
    const wait = Math.min(60000, 1000 * 2 ** tries);
    window.setTimeout(() => window.location.reload(), wait);
  };
  events.addEventListener("open", () => {
    window.sessionStorage.removeItem("allot-retries:" + box.dataset.progress);
  });
});
