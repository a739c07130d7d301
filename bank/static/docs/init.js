// Starts Swagger UI on the document the page names (data-url): a file, so the page needs no inline script.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.url,
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null,
    tryItOutEnabled: false,
    supportedSubmitMethods: ["get", "put", "post", "delete", "patch"],
    defaultModelsExpandDepth: 0,
  });
});
