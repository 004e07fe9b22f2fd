"""The baseline sender: a plain smtplib loop over one connection, sending
mails rendered beforehand, in a process of its own.

    python -m bench.smtp_loop PORT MAILS_FILE COUNT

MAILS_FILE is a pickle of [(envelope from, recipient, bytes), ...], sent in
turn until COUNT mails went. The child connects, says "ready", waits for a
line on stdin, sends, and prints the seconds it took.
"""

import pickle
import smtplib
import sys
import time


def main(port: int, path: str, count: int) -> None:
    with open(path, "rb") as file:
        mails = pickle.load(file)
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.ehlo()
        print("ready", flush=True)
        sys.stdin.readline()
        started = time.perf_counter()
        for i in range(count):
            sender, recipient, data = mails[i % len(mails)]
            smtp.sendmail(sender, [recipient], data)
        print(f"{time.perf_counter() - started:.6f}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
