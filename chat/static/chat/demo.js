// The host page's own little scripts: article search and the contact form's checks.
(() => {
  const input = document.getElementById("search-input");
  const articles = Array.from(document.querySelectorAll("#article-list .article"));
  const none = document.getElementById("no-results");
  document.getElementById("article-search").addEventListener("submit", (event) => event.preventDefault());
  input.addEventListener("input", () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const article of articles) {
      const text = article.textContent.toLowerCase();
      const match = words.every((word) => text.includes(word));
      article.hidden = !match;
      if (match) shown += 1;
    }
    none.hidden = shown > 0;
  });

  const form = document.getElementById("contact-form");
  const status = document.getElementById("contact-status");
  const messages = {
    valueMissing: "Please fill this in.",
    typeMismatch: "Enter an email address like name@example.com.",
    tooShort: "Please write at least 10 characters.",
  };
  function check(field) {
    const error = document.getElementById(field.id + "-error");
    const problem = Object.keys(messages).find((key) => field.validity[key]);
    field.setAttribute("aria-invalid", problem ? "true" : "false");
    error.textContent = problem ? messages[problem] : "";
    error.hidden = !problem;
    return !problem;
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const fields = Array.from(form.querySelectorAll("input, select, textarea"));
    const bad = fields.filter((field) => !check(field));
    if (bad.length) {
      status.hidden = true;
      bad[0].focus();
      return;
    }
    status.textContent = "Thanks! Your message looks fine — but this is a demo, so it was not sent anywhere.";
    status.hidden = false;
    form.reset();
  });
  form.addEventListener("input", (event) => {
    if (event.target.getAttribute("aria-invalid") === "true") check(event.target);
  });
})();
