// Starts Swagger UI on /api/v1/docs (templates/swagger_ui.html); a file of its own because the
// Content-Security-Policy refuses inline scripts.
(function () {
  const container = document.getElementById("swagger-ui-container");
  const config = Object.assign(
    { url: container.dataset.specUrl, dom_id: "#swagger-ui-container" },
    JSON.parse(container.dataset.config || "{}"),
  );
  window.ui = window.SwaggerUIBundle(config);
})();
