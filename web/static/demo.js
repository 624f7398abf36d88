// The demo page's "Ask the assistant" buttons: the widget's JavaScript API as a site would use it
// (docs/widget.md). Runs after widget.js (both deferred), so KpoChat is there.
document.querySelectorAll(".cards .try").forEach(function (button) {
  var question = button.previousElementSibling.textContent.replace(/^"|"$/g, "");
  button.setAttribute("aria-label", "Ask the assistant: " + question);
  button.addEventListener("click", function () { KpoChat.open().send(question); });
});
