FROM python:3.11-slim
WORKDIR /opt/fakecmon
COPY pyproject.toml README.md ./
COPY fakecmon ./fakecmon
COPY fixtures ./fixtures
RUN pip install --no-cache-dir -e . && mkdir -p certs
EXPOSE 9501
CMD ["fakecmon", "serve", "--bind", "0.0.0.0", "--port", "9501"]
