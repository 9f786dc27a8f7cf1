// The studio's entry: sign in with an API key (kept in localStorage until "Sign out"), show the
// account, then the create form and the jobs view, wired to each other.

import { Api, ApiError } from "./api.js";
import { CreateForm } from "./create.js";
import { Jobs } from "./jobs.js";

const $ = (selector) => document.querySelector(selector);
const STORED = "reelforge.key";

const form = new CreateForm((video) => jobs.add(video));
const jobs = new Jobs({
  again: (video) => form.fillFrom(video),
  start: (blob, name) => {
    form.setFrame("start", new File([blob], name, { type: blob.type || "image/jpeg" }));
    $("#start-slot").scrollIntoView({ block: "nearest" });
    $("#start-frame").focus();
  },
});

function signedOut(message = "") {
  jobs.close();
  form.reset();
  localStorage.removeItem(STORED);
  $("#studio-view").hidden = true;
  $("#account").hidden = true;
  $("#sign-in-view").hidden = false;
  $("#sign-in-error").textContent = message;
  $("#api-key").value = "";
  $("#api-key").focus();
}

async function signIn(key) {
  const api = new Api(key);
  const [account, models] = await Promise.all([api.account(), api.models()]);
  localStorage.setItem(STORED, key);
  showAccount(account);
  form.api = api;
  form.setModels(models.data);
  jobs.api = api;
  $("#sign-in-view").hidden = true;
  $("#studio-view").hidden = false;
  $("#sign-in-error").textContent = "";
  await jobs.load();
}

function showAccount(account) {
  $("#account-name").textContent = account.name;
  $("#account-key").textContent = `key ${account.key.prefix}…${account.key.admin ? " (admin)" : ""}`;
  const balance = account.balance_usd === null ? "unlimited" : `$${Number(account.balance_usd).toFixed(2)}`;
  const concurrency = account.concurrency === null ? "unlimited" : account.concurrency;
  $("#account-limits").textContent =
    `Balance ${balance} · concurrent jobs ${concurrency} · ${account.rpm} creates/min · ` +
    `${account.read_rpm} reads/min · ${account.jobs.queued} queued, ${account.jobs.running} running`;
  $("#account").hidden = false;
}

async function attempt(key) {
  try {
    await signIn(key);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    signedOut(error.message);
    $("#api-key").value = error.status === 401 ? "" : key;
  }
}

$("#sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("#api-key").value.trim();
  if (!key) {
    $("#sign-in-error").textContent = "Enter an API key.";
    return;
  }
  attempt(key);
});
$("#sign-out").addEventListener("click", () => signedOut());

const stored = localStorage.getItem(STORED);
if (stored) attempt(stored);
else $("#api-key").focus();
