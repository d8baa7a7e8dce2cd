// Morocco AI Watch operator view: the re-queue button, and links into the Airflow UI.
// Text from the store is only ever written with textContent: nothing from a feed becomes markup.
"use strict";

// Every write of this view: a same-origin JSON POST with the custom header the API demands (CSRF).
async function postJSON(url, payload) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {"Content-Type": "application/json", [document.body.dataset.csrfHeader]: "1"},
    body: JSON.stringify(payload),
  });
  return [response, await response.json().catch(() => ({}))];
}

async function requeue(button) {
  const outcome = button.parentElement.querySelector(".outcome");
  button.disabled = true;
  outcome.textContent = "re-queueing…";
  try {
    const [response, body] = await postJSON("api/outbox/requeue", {key: button.dataset.key});
    if (response.ok) {
      outcome.textContent = "re-queued: " + body.state + " (the next send_alerts delivers it)";
      button.remove();
    } else {
      outcome.textContent = "not re-queued: " + (body.detail || response.status);
      button.disabled = false;
    }
  } catch (error) {
    outcome.textContent = "not re-queued: " + error;
    button.disabled = false;
  }
}

// A ✓/✗ on the Review page: the label is recorded under the logged-in user; the answer says whether
// the labels Asset moved (retraining) or why not. The story stays on the page with its new label.
async function label(button) {
  const story = button.closest("article.story");
  const outcome = story.querySelector(".outcome");
  story.querySelectorAll(".vote button").forEach((b) => { b.disabled = true; });
  outcome.textContent = "recording…";
  try {
    const [response, body] = await postJSON("api/labels", {article_id: Number(button.dataset.article),
                                                          label: Number(button.dataset.label)});
    if (response.ok) {
      const result = body.result;
      const said = result.label ? "✓ relevant" : "✗ not relevant";
      outcome.textContent = `${said}: recorded for ${result.who} (${result.outcome}). ${body.retraining.message}`;
      story.dataset.labelled = String(result.label);
      const list = story.querySelector("ul.labels");
      list.querySelectorAll("li.none").forEach((li) => li.remove());
      const item = document.createElement("li");
      item.className = "given " + (result.label ? "yes" : "no");
      item.textContent = `${said}: ${result.who} (ui, just now)`;
      list.appendChild(item);
    } else {
      outcome.textContent = "not recorded: " + (typeof body.detail === "string" ? body.detail : response.status);
    }
  } catch (error) {
    outcome.textContent = "not recorded: " + error;
  }
  story.querySelectorAll(".vote button").forEach((b) => { b.disabled = false; });
}

// Poll now / Pause / Resume on the Feeds page: the answer's words go next to the buttons.
async function feedAction(button) {
  const outcome = button.parentElement.querySelector(".outcome");
  const name = button.dataset.feed;
  const pausing = button.classList.contains("pause");
  const url = "api/feeds/" + encodeURIComponent(name) + (pausing ? "/pause" : "/poll");
  const body = pausing ? {paused: button.dataset.paused === "true"} : {};
  button.disabled = true;
  outcome.textContent = pausing ? "saving…" : "queueing a run…";
  try {
    const [response, answer] = await postJSON(url, body);
    outcome.textContent = response.ok ? answer.message : "not done: " + (answer.detail || response.status);
    if (response.ok && pausing) {
      const paused = button.dataset.paused === "true";
      button.dataset.paused = paused ? "false" : "true";
      button.textContent = paused ? "Resume" : "Pause";
    }
  } catch (error) {
    outcome.textContent = "not done: " + error;
  }
  button.disabled = false;
}

// Inside the Airflow UI this page is a sandboxed same-origin iframe that may not navigate the top
// window; a link to an Airflow page (a task log, a DAG run) asks the UI's router to show it instead
// of opening a second Airflow UI inside the frame.
function openInAirflow(event) {
  const link = event.currentTarget;
  try {
    if (window.parent === window || event.ctrlKey || event.metaKey || event.shiftKey) return;
    const url = new URL(link.href, document.baseURI);
    if (url.origin !== window.parent.location.origin) return;
    event.preventDefault();
    window.parent.history.pushState({}, "", url.pathname + url.search + url.hash);
    window.parent.dispatchEvent(new PopStateEvent("popstate"));
  } catch (error) {
    // not reachable (another origin): the browser follows the link in the frame
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button.requeue").forEach((b) => b.addEventListener("click", () => requeue(b)));
  document.querySelectorAll(".vote button").forEach((b) => b.addEventListener("click", () => label(b)));
  document.querySelectorAll("#feeds .actions button").forEach((b) => b.addEventListener("click", () => feedAction(b)));
  document.querySelectorAll("a[data-airflow-route]").forEach((a) => a.addEventListener("click", openInAirflow));
});
