"""Address normalisation and validation."""

from email_validator import EmailNotValidError, validate_email


def normalise_email(email: str) -> str:
    """The form an address is stored and compared in: trimmed, lower case."""
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    """Why an address cannot receive mail, or None when its syntax is fine."""
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        return str(error)
    return None
