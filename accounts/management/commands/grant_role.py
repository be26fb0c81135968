"""manage.py grant_role EMAIL --role official|moderator [--revoke]"""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from accounts.services import role_grant, role_revoke


class Command(BaseCommand):
    help = "Grant (or with --revoke, take away) the official or moderator role."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--revoke", action="store_true")

    def handle(self, *args, email, role, revoke, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with e-mail {email}")
        role_enum = Role(role)
        if revoke:
            changed = role_revoke(actor=None, user=user, role=role_enum)
            verb = "revoked from" if changed else "was not held by"
        else:
            changed = role_grant(actor=None, user=user, role=role_enum)
            verb = "granted to" if changed else "already held by"
        self.stdout.write(f"Role {role} {verb} {user.email}")
