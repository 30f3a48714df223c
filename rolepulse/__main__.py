from rolepulse.cli import app

app()
