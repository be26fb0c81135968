# Birge: one image for the ASGI web workers, the Celery worker and Celery beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=civic.settings.production

WORKDIR /app
RUN useradd --create-home --uid 1000 birge

COPY pyproject.toml requirements.lock README.md ./
COPY civic ./civic
COPY accounts ./accounts
COPY polls ./polls
COPY communities ./communities
COPY dialogue ./dialogue
RUN pip install --no-cache-dir -c requirements.lock .

COPY . .
# collectstatic needs settings but no services; the key and the census pepper are thrown away
# with this layer's shell.
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    CENSUS_PEPPER="$(python -c 'import secrets; print(secrets.token_urlsafe(48))')" \
    DJANGO_ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput -v0 \
 && mkdir -p /app/var/media && chown -R birge:birge /app/var

USER birge
EXPOSE 8000
# Forwarded headers are believed only from FORWARDED_ALLOW_IPS (uvicorn's default: 127.0.0.1),
# the reverse proxy's address: docker-compose.yml sets it.
CMD ["uvicorn", "civic.asgi:application", "--ws-per-message-deflate", "false", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--proxy-headers"]
