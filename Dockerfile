# The obank image used by compose.yaml: one codebase, every process chosen by its command.
FROM python:3.11-slim
WORKDIR /app
RUN useradd --system --uid 10001 obank
COPY pyproject.toml README.md ./
COPY obank ./obank
COPY auth_server ./auth_server
COPY gateway ./gateway
COPY bank ./bank
COPY core_banking ./core_banking
COPY open_banking ./open_banking
COPY notifications ./notifications
COPY fraud ./fraud
COPY audit ./audit
COPY migrations ./migrations
RUN pip install --no-cache-dir . && mkdir -p /app/var && chown obank /app/var
USER obank
EXPOSE 8443
CMD ["obank", "serve", "--host", "0.0.0.0"]
