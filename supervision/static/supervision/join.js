// The join bar of a chat a manager watches: whisper to the CSR, barge in, write to the
// customer, take over, leave (supervision/views.py chat_join_action). Once the chat is the
// manager's (taken over) the page reloads as their live chat panel, without this bar.
import { postJSON } from "../portal/js/util.js";

const bar = document.getElementById("sv-join");
const id = bar.dataset.interaction;
const stateText = document.getElementById("sv-join-state");
const say = document.getElementById("sv-say");
const newId = () => (crypto.randomUUID ? crypto.randomUUID() : `m-${Date.now()}-${Math.random().toString(36).slice(2)}`);

function show(state) {
  if (!state) return;
  if (state.owner && state.open) {
    // Taken over: the chat is the manager's now. The server renders its window as their
    // live panel (composer, End chat), so load it again.
    stateText.textContent = "This chat is yours: opening it as your chat…";
    window.location.reload();
    return;
  }
  const barged = state.mode === "barged_in";
  stateText.textContent = !state.open ? "This chat has ended."
    : state.owner ? "This chat is yours: write to the customer below."
    : barged ? "You joined the chat: the customer sees your messages."
    : state.mode === "monitoring" ? "You are monitoring this chat; the customer does not see you."
    : "You are watching this chat; the customer does not see you.";
  say.hidden = !(state.open && (barged || state.owner));
  bar.querySelector('[data-join="barge-in"]').hidden = barged || state.owner || !state.open;
  bar.querySelector('[data-join="take-over"]').hidden = state.owner || !state.open || !state.has_csr;
  bar.querySelector('[data-join="leave"]').hidden = state.owner || !state.mode || !state.open;
  bar.querySelector('[data-join="end"]').hidden = !(state.owner && state.open);
  document.getElementById("sv-whisper").hidden = state.owner || !state.open || !state.has_csr;
}

async function act(action, body = {}) {
  try {
    const answer = await postJSON(`/supervision-api/chats/${id}/${action}/`, body);
    show(answer.state);
    return true;
  } catch (error) {
    stateText.textContent = error.message;
    return false;
  }
}

for (const button of bar.querySelectorAll("[data-join]")) {
  button.addEventListener("click", () => act(button.dataset.join));
}
for (const [formId, action] of [["sv-whisper", "whisper"], ["sv-say", "send"]]) {
  document.getElementById(formId).addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = event.target.elements.text;
    if (await act(action, { text: input.value, client_msg_id: newId() })) input.value = "";
  });
}
act("monitor");
