"""A wide differential campaign: filter expressions through a live syslog-ng 3.38 and
through the relay, over a corpus of real-world RFC 3164 and RFC 5424 lines.

Every expression runs in its own log path, as a ``[[filter]]`` + ``[[log]]`` would: the
relay must pass exactly the messages syslog-ng passes, in the same order.  An expression
that one side rejects must be rejected by the other (syslog-ng's ``--syntax-only``).

The fixed campaign (about 2,000 expressions: every function, flag, type, operator, name,
number form and precedence rule, plus seeded random boolean compositions and regexes) runs
by default, plus one hypothesis-generated batch of expressions (``RELAY_SNG_EXAMPLES=N``
runs N batches).
"""

from __future__ import annotations

import calendar
import os
import random
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sng
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.errors import FilterError
from relay.filter import compile_filter
from relay.message import LogMessage
from relay.parse import Parser, Peer

Predicate = object

# -- corpus ----------------------------------------------------------------------------
# What real senders put on the wire (sshd, sudo, CRON, postfix, kernel, systemd, nginx,
# Cisco IOS/ASA, haproxy, RFC 5424 with SDATA), then the awkward ones: odd PIDs and PRIs,
# empty fields, non-UTF-8 bytes, embedded newlines, numbers as messages.
CORPUS: list[bytes] = [
    b"<38>Mar  1 12:00:01 web1 sshd[1234]: Accepted publickey for alice from 10.0.0.5 port 52113 s"
    b"sh2: RSA SHA256:abc",
    b"<86>Mar  1 12:00:02 web1 sshd(pam_unix)[4321]: session opened for user root by (uid=0)",
    b"<85>Mar  1 12:00:03 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND="
    b"/bin/ls",
    b"<86>Mar  1 12:00:03 web1 sudo: pam_unix(sudo:session): session opened for user root(uid=0) b"
    b"y alice(uid=1000)",
    b"<78>Mar  1 12:00:04 web1 CRON[20000]: (root) CMD (run-parts /etc/cron.hourly)",
    b"<77>Mar  1 12:00:04 web1 crond[777]: (CRON) INFO (Running @reboot jobs)",
    b"<22>Mar  1 12:00:05 mail1 postfix/qmgr[556]: 4F2A1C0: from=<a@example.com>, size=1234, nrcpt"
    b"=1 (queue active)",
    b"<19>Mar  1 12:00:05 mail1 postfix/smtpd[555]: warning: unknown[203.0.113.9]: SASL LOGIN auth"
    b"entication failed",
    b"<22>Mar  1 12:00:05 mail1 postfix/smtp[558]: 4F2A1C0: to=<b@example.org>, relay=mx.example.o"
    b"rg[198.51.100.7]:25, status=sent (250 2.0.0 OK)",
    b"<0>Mar  1 12:00:06 core kernel: Kernel panic - not syncing: Fatal exception",
    b"<6>Mar  1 12:00:06 core kernel: [  12.345678] e1000e: eth0 NIC Link is Up 1000 Mbps Full Dup"
    b"lex",
    b"<4>Mar  1 12:00:06 core kernel: [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.1 DST=192.0.2.2 PROTO=T"
    b"CP SPT=4444 DPT=22",
    b"<30>Mar  1 12:00:07 web1 systemd[1]: Started Session 42 of user alice.",
    b"<27>Mar  1 12:00:07 web1 systemd[1]: nginx.service: Main process exited, code=exited, status"
    b"=1/FAILURE",
    b'<190>Mar  1 12:00:08 web2 nginx: 192.168.1.10 - - [01/Mar/2025:12:00:08 +0000] "GET /index.h'
    b'tml HTTP/1.1" 200 612 "-" "curl/7.68.0"',
    b'<187>Mar  1 12:00:08 web2 nginx[20001]: 2025/03/01 12:00:08 [error] 1234#0: *1 open() "/var/'
    b'www/x" failed (2: No such file or directory)',
    b"<166>Mar 01 2025 12:00:09: %ASA-6-302013: Built outbound TCP connection 123 for outside:198."
    b"51.100.1/443 (198.51.100.1/443) to inside:10.0.0.2/5555 (10.0.0.2/5555)",
    b'<164>Mar  1 12:00:09 fw1 %ASA-4-106023: Deny tcp src outside:203.0.113.5/1234 dst inside:10.'
    b'1.1.1/22 by access-group "OUT"',
    b"<189>123: *Mar  1 12:00:10.123: %SYS-5-CONFIG_I: Configured from console by admin on vty0 (1"
    b"0.0.0.9)",
    b"<187>45: router1: Mar  1 12:00:10: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed sta"
    b"te to down",
    b'<165>1 2025-03-01T12:00:11.000Z mymachine.example.com evntslog 777 ID47 [exampleSDID@32473 i'
    b'ut="3" eventSource="Application" eventID="1011"] An application event log entry',
    b'<165>1 2025-03-01T12:00:11.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut'
    b'="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
    b"<34>1 2025-03-01T12:00:12Z host5 su - ID48 - 'su root' failed for lonvick on /dev/pts/8",
    b'<190>1 2025-03-01T12:00:13+01:00 host6 - - - [meta sequenceId="9"] no program here',
    b'<13>1 2025-03-01T12:00:13Z host7 app 123 - [x@1 a="\\"q\\"" b="\\]"] \xef\xbb\xbfBOM message',
    b"<14>1 - - - - - -",
    b"<14>1 2025-03-01T12:00:14Z - - - - - dash fields",
    b'<11>Mar  1 12:00:15 db-2 postgres[987]: [3-1] ERROR:  relation "x" does not exist',
    b"<13>Mar  1 12:00:15 db-2 postgres[25001]: [1-1] LOG:  checkpoint starting: time",
    b"<29>Mar  1 12:00:16 web1 ntpd[19999]: Listen normally on 3 eth0 10.0.0.1:123",
    b"<87>Mar  1 12:00:17 WEB1 SSHD[7]: FAILED PASSWORD FOR ROOT FROM 10.9.9.9",
    b"<85>Mar  1 12:00:17 web1 sshd[1235]: Failed password for invalid user admin from 203.0.113.7"
    b"7 port 2222 ssh2",
    b"<13>Mar  1 12:00:18 web1 app[]: empty pid brackets",
    b"<13>Mar  1 12:00:18 web1 app[-5]: negative pid",
    b"<13>Mar  1 12:00:18 web1 app[ 42]: pid with a space",
    b"<13>Mar  1 12:00:18 web1 app[0x10]: hex pid",
    b"<13>Mar  1 12:00:18 web1 app[2147483648]: pid over int32",
    b"<13>Mar  1 12:00:18 web1 app[99999999999999999999]: pid over int64",
    b"<13>Mar  1 12:00:18 web1 app[1e3]: float pid",
    b"<13>Mar  1 12:00:18 web1 app[020]: octal-looking pid",
    b"<13>Mar  1 12:00:18 web1 app[+7]: plus pid",
    b"<13>Mar  1 12:00:18 web1 app[12abc]: trailing junk pid",
    b"<13>Mar  1 12:00:19 web1 caf\xc3\xa9[12]: caf\xc3\xa9 ol\xc3\xa9 na\xc3\xafve \xc3\x89T\xc3"
    b"\x89",
    b"<13>Mar  1 12:00:19 web1 bin: raw \xff\xfe bytes here \xe9t\xe9",
    b"<13>Mar  1 12:00:19 web1 \xe9prog[3]: latin1 program",
    b"just a bare line without any header",
    b"<13>",
    b"<13>Mar  1 12:00:20 web1 app: ",
    b"<13>Mar  1 12:00:20 web1 app:",
    b'<191>Mar  1 12:00:20 lb1 haproxy[30000]: 10.1.2.3:5555 [01/Mar/2025:12:00:20.000] fe be/srv '
    b'0/0/1/2/3 200 512 - - ---- 1/1/0/0/0 0/0 "GET /api/v1/items?id=42 HTTP/1.1"',
    b"<134>Mar  1 12:00:21 lb1 haproxy[30000]: Server be/srv2 is DOWN, reason: Layer4 timeout",
    b"<9>Mar  1 12:00:22 web1 app[1]: multi\nline\nmessage",
    b"<9>Mar  1 12:00:22 web1 app[1]: tab\there and cr\rthere",
    b"<255>Mar  1 12:00:23 web1 maxpri[1]: pri 255",
    b"<191>Mar  1 12:00:23 web1 local7debug[1]: pri 191",
    b"<1000>Mar  1 12:00:23 web1 bigpri[1]: pri 1000",
    b"<80>Mar  1 12:00:24 web1 authpriv0[1]: authpriv emerg",
    b"<104>Mar  1 12:00:24 web1 ftp0[1]: ftp emerg",
    b"<112>Mar  1 12:00:24 web1 ntp0[1]: ntp emerg",
    b"<120>Mar  1 12:00:24 web1 sec0[1]: security/log audit emerg",
    b"<128>Mar  1 12:00:24 web1 local0x[1]: local0 emerg",
    b"<152>Mar  1 12:00:24 web1 local3x[1]: local3 emerg",
    b"<44>Mar  1 12:00:24 web1 syslog-ng[99]: syslog-ng starting up; version='3.38.1'",
    b'<15>Mar  1 12:00:25 web1 python3: Traceback (most recent call last): File "x.py", line 1',
    b"<12>Mar  1 12:00:25 web1 java[5555]: java.lang.NullPointerException: null at com.example.Foo"
    b".bar(Foo.java:42)",
    b"<14>Mar  1 12:00:26 10.0.0.5 dhcpd: DHCPACK on 10.0.0.77 to aa:bb:cc:dd:ee:ff (laptop) via e"
    b"th1",
    b"<14>Mar  1 12:00:26 host.example.com named[800]: client @0x7f 192.0.2.5#53: query (cache) 'e"
    b"xample.com/A/IN' denied",
    b"<14>Mar  1 12:00:26 [2001:db8::1] app6[1]: ipv6 host",
    b"<14>Mar  1 12:00:27 web1 sshd[1236]: Received disconnect from 198.51.100.23 port 40000:11: B"
    b"ye Bye [preauth]",
    b"<38>Mar  1 12:00:27 web1 sshd[1237]: Invalid user oracle from 198.51.100.24 port 40001",
    b"<14>Mar  1 12:00:28 web1 docker/abc123[900]: container log line",
    b"<14>Mar  1 12:00:28 web1 my prog[1]: space in program",
    b"<14>Mar  1 12:00:28 web1 prog:with:colons: colons",
    b"<14>Mar  1 12:00:28 web1 [bracketed]: bracketed program",
    b"<14>Mar  1 12:00:29 web1 upper-CASE_Prog.v2[77]: Mixed Case Message With UPPER and lower",
    b"<14>Mar  1 12:00:29 web1 app[3]: aaa bbb aaa AAA 12.5% 3.14 -42 0x1F",
    b"<14>Mar  1 12:00:29 web1 app[3]: user=bob uid=0 action=login result=success",
    b"<14>Mar  1 12:00:29 web1 app[3]: foofoo barbar 2025-03-01 abcabc",
    b"<14>Mar  1 12:00:29 web1 app[3]: *glob?chars[x] \\backslash\\ \"quoted\" 'single'",
    b"<14>Mar  1 12:00:29 web1 app[3]:    leading spaces",
    b"<14>Mar  1 12:00:29 web1 app[3]: trailing spaces   ",
    b"<14>Mar  1 12:00:29 web1 app[3]: line with trailing newline\n",
    b"<13>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    b"<13>2025-03-01T12:00:30+02:00 isohost isoapp[8]: ISO stamp in 3164",
    b"<13>Mar  1 12:00:31 web1 app[1]: 0",
    b"<13>Mar  1 12:00:31 web1 app[1]: -0",
    b"<13>Mar  1 12:00:31 web1 app[1]: 1.5e3",
    b"<13>Mar  1 12:00:31 web1 app[1]:  99 ",
    b"<13>Mar  1 12:00:31 web1 app[1]: 9223372036854775808",
    b"<13>Mar  1 12:00:31 web1 app[1]: true",
    b"<13>Mar  1 12:00:31 web1 app[1]: inf",
    b"<13>Mar  1 12:00:31 web1 app[1]: nan",
    b"<13>Mar  1 12:00:31 web1 app[1]: 0x1A",
    b"<13>Mar  1 12:00:31 web1 app[1]: 1k",
    b"<13>Mar  1 12:00:31 web1 app[1]: 010",
]

DEFINITIONS = {
    "f_auth": "facility(auth, authpriv)",
    "f_errors": "level(err..emerg)",
    "f_sshd": 'program("sshd")',
}


# -- expressions -----------------------------------------------------------------------
FAC_NAMES = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
    "megasafe",
    "KERN",
    "Auth",
    "LOCAL7",
    "solaris_cron",
]
LEV_NAMES = [
    "emerg",
    "panic",
    "alert",
    "crit",
    "err",
    "error",
    "warning",
    "warn",
    "notice",
    "info",
    "informational",
    "debug",
    "EMERG",
    "Warn",
    "INFO",
]


def hand() -> list[str]:
    """Every function with its options, names and numbers, edge values."""
    E = []
    # facility
    for f in FAC_NAMES:
        E.append(f"facility({f})")
    for n in [0, 1, 4, 5, 10, 13, 16, 19, 23, 24, 31, 32, -1, "0x4", "04", "1k"]:
        E.append(f"facility({n})")
    E += [
        'facility("auth")',
        "facility('local0')",
        "facility(auth authpriv)",
        "facility(auth,authpriv, mail)",
        "facility(kern..mail)",
        "facility(mail..kern)",
        "facility(local0..local7 kern)",
        "facility(auth..auth)",
        "facility(kern..local7)",
        "facility(security..console)",
        "facility(ftp ntp security console solaris-cron)",
        'facility("local0".."local3")',
        "facility(local0 .. local3)",
        "facility(4 5)",
        "facility(auth 4)",
    ]
    # level
    for lev in LEV_NAMES:
        E.append(f"level({lev})")
    E += [
        "level(0)",
        "level(3)",
        "priority(err..emerg)",
        "severity(debug..info)",
        "level(emerg..debug)",
        "level(debug..emerg)",
        "level(warn..err)",
        "level(err..warn)",
        "level(info notice) and facility(user)",
        'level("err")',
        "level('info')",
        "level(emerg, alert, crit)",
        "level(panic..panic)",
        "LEVEL(info)",
        "Level(info)",
        "FACILITY(user)",
        "Facility(kern)",
        "level(info,)",
        "level(info debug,)",
        "level(err..crit debug)",
    ]
    # program / host / message variants
    pats = [
        '"sshd"',
        "sshd",
        '"^sshd$"',
        '"SSHD"',
        '"ssh"',
        '"^postfix/"',
        '"postfix/.*"',
        '"^$"',
        '""',
        '"d$"',
        '"[0-9]"',
        '"\\\\d"',
        '"\\\\w+/\\\\w+"',
        '"^(?i)sshd"',
        '"(?i)SSHD"',
        '"sshd|CRON"',
        '"^(sshd|cron)$"',
        '"^[a-z]+$"',
        '"^[[:alpha:]]+$"',
        '"."',
        '"^.$"',
        '"caf\xc3\xa9"',
        '"caf."',
        '"^...$"',
        '"[A-Z]"',
        '"-"',
        '"\\\\."',
        '"\\\\["',
        '"\\\\bsh"',
        '"\\\\Bsh"',
        '"s(?=shd)"',
        '"(?!sshd)^s"',
        '"(?<=s)shd"',
        '"s+?h"',
        '"^(.)\\\\1"',
        '"(ss)?hd"',
        '"s{2}"',
        '"s{2,}"',
        '"s{,2}"',
        '"s{1,2}h"',
        '"\\\\x73"',
        '"\\x73shd"',
        '"ss\\\\Qhd\\\\E"',
        '"(?x) s s h d"',
        '"\\\\s"',
        '"\\\\S+"',
    ]
    flags = [
        "",
        " flags(ignore-case)",
        " flags(icase)",
        " flags(utf8)",
        " flags(unicode)",
        " flags(prefix)",
        " flags(substring)",
        " flags(store-matches)",
        " flags(global)",
        " flags(newline)",
        " flags(ignore-case utf8)",
        " flags(ignore-case, prefix)",
        " flags(prefix substring)",
        " flags(ignore_case)",
        " flags(disable-jit)",
        " flags(dupnames)",
        " flags()",
        " flags(IGNORE-CASE)",
    ]
    types = [
        "",
        " type(pcre)",
        " type(string)",
        " type(glob)",
        " type(posix)",
        ' type("string")',
        " type(PCRE)",
        " type(String)",
    ]
    rng = random.Random(1)
    for fn in ["program", "host", "message"]:
        for p in pats:
            E.append(f"{fn}({p})")
        for _ in range(60):
            p = rng.choice(pats)
            fl = rng.choice(flags)
            ty = rng.choice(types)
            if rng.random() < 0.5:
                E.append(f"{fn}({p}{ty}{fl})")
            else:
                E.append(f"{fn}({p}{fl}{ty})")
    hosts = [
        '"web1"',
        '"^web"',
        '"WEB1"',
        '"web1" type(string)',
        '"WEB1" type(string) flags(ignore-case)',
        '"web" type(string) flags(prefix)',
        '"eb" type(string) flags(substring)',
        '"web?" type(glob)',
        '"*.example.com" type(glob)',
        '"[wd]*" type(glob)',
        '"web[12]" type(glob)',
        '"web[!1]" type(glob)',
        '"web\\\\1" type(glob)',
        '"10.0.0.*" type(glob)',
        '"127.0.0.1"',
        '"^127\\\\."',
        '"2001"',
        '"-"',
        '"^-$"',
        '"host.*"',
        '"^$"',
        '"" type(string)',
        '"" type(glob)',
        '"*" type(glob)',
        '"?" type(glob)',
        '"mymachine.example.com" type(string)',
    ]
    for h in hosts:
        E.append(f"host({h})")
    msgs = [
        '"failed"',
        '"Failed" flags(ignore-case)',
        '"^Failed"',
        '"(?i)^failed"',
        '"password for (invalid user )?\\\\w+"',
        '"from \\\\d{1,3}(\\\\.\\\\d{1,3}){3}"',
        '"port \\\\d+ ssh2$"',
        '"\\\\bBye\\\\b"',
        '"^$"',
        '""',
        '"\\\\n"',
        '"\\n"',
        '"line$"',
        '"line$" flags(newline)',
        '"^line" flags(newline)',
        '"multi.line"',
        '"multi.line" flags(newline)',
        '"(?s)multi.line"',
        '"(?m)^line$"',
        '"\\\\t"',
        '"\\t"',
        '"\\\\r"',
        '"caf\xc3\xa9"',
        '"ol." flags(utf8)',
        '"ol.\\\\s"',
        '"ol..\\\\s"',
        '"\\\\xe9"',
        '"\\\\xc3\\\\xa9"',
        '"\xc3\xa9t\xc3\xa9"',
        '"\\\\xe9t\\\\xe9"',
        '"[\\\\x80-\\\\xff]"',
        '"[^\\\\x00-\\\\x7f]"',
        '"[^\\\\x00-\\\\x7f]" flags(utf8)',
        '"\\\\xff"',
        '"\\\\xff" flags(utf8)',
        '"\xc3\x89T\xc3\x89" flags(ignore-case)',
        '"\xc3\xa9t\xc3\xa9" flags(ignore-case)',
        '"\xc3\xa9t\xc3\xa9" flags(ignore-case utf8)',
        '"\\\\w+\xc3\xa9"',
        '"\\\\w\\\\w\\\\w\\\\s" flags(utf8)',
        '"na\\\\wve" flags(utf8)',
        '"na\\\\wve"',
        '"na.ve"',
        '"na..ve"',
        '"\\\\d+\\\\.\\\\d+%"',
        '"-\\\\d+"',
        '"0x[[:xdigit:]]+"',
        '"[[:upper:]]{5}"',
        '"[[:punct:]]"',
        '"[[:space:]]{3}"',
        '"[]]"',
        '"[^]]x"',
        '"[a-]"',
        '"[\\\\]]"',
        '"[\\\\d.]+%"',
        '"\\\\*glob"',
        '"\\\\\\\\backslash"',
        '"\\\\"quoted\\\\""',
        "\"'single'\"",
        "'\\\\d+'",
        "'[0-9]+ \"'",
        '"(a|b)+c"',
        '"(?:foo){2}"',
        '"(foo|bar)\\\\1"',
        '"(?P<x>foo)(?P=x)"',
        '"(?<x>abc)\\\\k<x>"',
        '"^.{0,5}$"',
        '"^\\\\s+"',
        '"\\\\s+$"',
        '"  $"',
        '"*glob*" type(glob)',
        '"\\\\*glob*" type(glob)',
        '"*[x]*" type(glob)',
        '"*\\\\[x]*" type(glob)',
        '"*?chars*" type(glob)',
        '"*" type(glob)',
        '"" type(glob)',
        '"*AAA*" type(glob)',
        '"*aaa*" type(glob) flags(ignore-case)',
        '"*[[]x*" type(glob)',
        '"*[a-c]bc*" type(glob)',
        '"*[!a-z]*" type(glob)',
        '"*[^a-z]*" type(glob)',
        '"*caf\xc3\xa9*" type(glob)',
        '"*\xc3\xa9t\xc3\xa9*" type(glob)',
        '"*bytes*" type(glob)',
        '"raw*" type(glob)',
        '"aaa" type(string) flags(substring)',
        '"AAA" type(string) flags(substring ignore-case)',
        '"aaa bbb" type(string) flags(prefix)',
        '"0" type(string)',
        '"-0" type(string)',
        '"" type(string) flags(prefix)',
        '"" type(string) flags(substring)',
        '"\xc3\xa9t\xc3\xa9" type(string) flags(substring ignore-case)',
        '"\xc3\x89T" type(string) flags(substring ignore-case)',
        '"empty pid brackets" type(string)',
        '"EMPTY PID" type(string) flags(prefix ignore-case)',
        '"nan" type(string) flags(ignore-case)',
        '"x" flags(global)',
        '"(\\\\d+)" flags(store-matches)',
        '"a++"',
        '"a*+b"',
        '"(?>a+)b"',
        '"a{2}+"',
        '"\\\\Aaaa"',
        '"aaa\\\\z"',
        '"spaces\\\\Z"',
        '"newline\\\\Z"',
        '"newline$"',
        '"newline\\\\z"',
        '"[[:^digit:]]+"',
        '"\\\\D{3}"',
        '"\\\\W"',
        '"\\\\h"',
        '"\\\\v"',
        '"\\\\R"',
        '"\\\\N"',
        '"(?#comment)aaa"',
        '"a(?i)AA"',
        '"(?i:AAA) bbb"',
        '"(?-i)aaa" flags(ignore-case)',
        '"\\\\e"',
        '"\\\\cA"',
        '"\\\\0"',
        '"\\\\012"',
        '"\\\\o{141}"',
        '"\\\\x{61}"',
        '"\\\\141"',
        '"[\\\\w-]+@"',
        '"\\\\$"',
        '"$$"',
        '"^^"',
        '"a|"',
        '"|a"',
        '"()"',
        '"(?:)"',
        '"x*"',
        '"a{1,2}{3}"',
    ]
    for m in msgs:
        E.append(f"message({m})")
    # match
    values = [
        "",
        ' value("MESSAGE")',
        ' value("MSG")',
        ' value("PROGRAM")',
        ' value("HOST")',
        ' value("PID")',
        ' value("$PID")',
        ' value("MSGID")',
        ' value("LEGACY_MSGHDR")',
        ' value("FACILITY")',
        ' value("LEVEL")',
        ' value("PRIORITY")',
        ' value("SEVERITY")',
        ' value("LEVEL_NUM")',
        ' value("FACILITY_NUM")',
        ' value("PRI")',
        ' value("HOST_FROM")',
        ' value("SOURCEIP")',
        ' value("SOURCE")',
        ' value(".SDATA.exampleSDID@32473.iut")',
        ' value(".SDATA.meta.sequenceId")',
        ' value("SDATA")',
        ' value("TAGS")',
        ' value("nosuch")',
        ' value("DATE")',
        ' value("ISODATE")',
        ' value("PROTO")',
        ' value("TAG")',
        ' value("BSDTAG")',
        " value(MESSAGE)",
        ' value("SEQNUM")',
        ' value("RAWMSG")',
        ' value(".SDATA.x@1.a")',
        ' value(".SDATA.x@1.b")',
        ' value("MSGHDR")',
        ' value("YEAR")',
        ' value("LOGHOST")',
        ' template("$PROGRAM/$PID")',
        ' template("${HOST}")',
    ]
    mpats = [
        '"^sshd"',
        '"sshd\\\\["',
        '"^sshd\\\\[1234\\\\]: Accepted"',
        '"^app: "',
        '"^: "',
        '"^\\\\[?"',
        '"^app\\\\[\\\\]"',
        '"\\\\]: "',
        '"^[0-9]+$"',
        '"^-?[0-9]+$"',
        '"^$"',
        '"."',
        '"^auth"',
        '"^err$"',
        '"^3$"',
        '"^1[0-9]+$"',
        '"web"',
        '"127"',
        '"s_net"',
        '"\\\\.source\\\\."',
        '"ID4"',
        '"\\\\[.*\\\\]"',
        '"^[a-z]+$"',
        '"^1$"',
        '"^(auth|authpriv)$"',
        '"^[0-9]{1,3}$"',
        '"Mar"',
        '"2025"',
        '"^17$"',
        '"exampleSDID"',
        '"\\\\\\\\"',
        '"q"',
        '"]"',
        '"^-$"',
        '"sequenceId"',
    ]
    for v in values:
        for p in rng.sample(mpats, 8):
            E.append(f"match({p}{v})")
    E += [
        'match("^3$" value(".SDATA.exampleSDID@32473.iut"))',
        'match("high" value(".SDATA.examplePriority@32473.class"))',
        'match("^9$" value(".SDATA.meta.sequenceId"))',
        'match("^\\"q\\"$" value(".SDATA.x@1.a"))',
        'match("sshd" value("PROGRAM") type(string))',
        'match("ALICE" value("MESSAGE") flags(ignore-case))',
        'match("ALICE" flags(ignore-case) value("MESSAGE"))',
        'match("x" value("PROGRAM") value("HOST"))',
        'match("web1" value("HOST") template("$PROGRAM"))',
        'match("alice" template("$PROGRAM $MSG"))',
        'match("^sshd 1234$" template("$PROGRAM $PID"))',
        "match(\"^sshd 1234$\" template('$PROGRAM $PID'))",
        'match("sshd" value("$(echo x)"))',
        'match("a" value("$HOST$PID"))',
        'match("a" value("$"))',
        'match("a" value(""))',
        'match("^$" value(""))',
        'match("^$" value("nosuch"))',
    ]
    # source / tags / netmask / filter()
    E += [
        'source("s_net")',
        "source(s_net)",
        'source("s_other")',
        'source("S_NET")',
        'source("s_")',
        'source("s_net" type(pcre))',
        'source("^s_" type(pcre))',
        'source("s_net" flags(ignore-case))',
        'source("S_NET" flags(ignore-case))',
        'source("s_*" type(glob))',
        'source("s_" type(string) flags(prefix))',
        'tags(".source.s_net")',
        "tags(.source.s_net)",
        'tags(".source.s_other")',
        'tags(".source.s_net", "x")',
        'tags("x" "y")',
        "tags()",
        'tags("")',
        'tags(".SOURCE.S_NET")',
        'tags(".source.*")',
        'tags("syslog")',
        'tags(".app.syslog")',
        'tags(".classifier.system")',
    ]
    for nm in [
        "127.0.0.1",
        "127.0.0.0/8",
        "127.0.0.1/32",
        "127.0.0.0/24",
        "127.0.0.2/31",
        "127.0.0.0/255.0.0.0",
        "127.0.0.0/255.255.255.0",
        "10.0.0.0/8",
        "0.0.0.0/0",
        "0.0.0.0",
        "127.0.0.1/0",
        "127.1",
        "127.0.1",
        "127.0.0.1/33",
        "127.0.0.1/-1",
        "127.0.0.1/abc",
        "127.0.0.1/",
        "127.0.0.0/8x",
        "128.0.0.0/1",
        "0.0.0.0/1",
        "127.255.255.255/8",
        "127.0.0.1/255.255.255.255",
        "127.0.0.1/0.0.0.0",
        "127.0.0.0/0.255.0.0",
        "1.2.3.4/ 8",
        "127.0.0.1/ 8",
        "localhost",
        "abc",
        "",
        "255.255.255.255",
        "127.0.0.1/08",
        "127.0.0.1/+8",
        "0x7f000001",
        "017700000001",
        "127.0.0.1 ",
        " 127.0.0.1",
        "::ffff:127.0.0.1",
        "127.0.0.1/16.0.0.0",
        "127.0.0.1/31",
        "127.0.0.0/7",
        "126.0.0.0/7",
        "10.0.0.1/--8",
        "10.0.0.1/+-8",
    ]:
        E.append(f'netmask("{nm}")')
    E += ["netmask(127.0.0.1)", "netmask(127.0.0.0/8)", "netmask(10.0.0.0/8)"]
    for nm in [
        "::1",
        "::1/128",
        "::/0",
        "::/1",
        "::0/127",
        "::1/127",
        "2001:db8::/32",
        "::ffff:127.0.0.1",
        "::ffff:127.0.0.0/104",
        "::ffff:0:0/96",
        "::ffff:127.0.0.1/128",
        "::127.0.0.1",
        "127.0.0.1",
        "::/128",
        "::",
        "::1/129",
        "::1/0",
        "::1/-1",
        "::1/abc",
        "fe80::/10",
        "ffff::/1",
        "8000::/1",
        "::/8",
        "abc",
        "",
        "::1/ 128",
        "::ffff:7f00:1",
        "::ffff:7f00:1/120",
        "0:0:0:0:0:ffff:7f00:0001",
        ":::1",
        "::1/64",
    ]:
        E.append(f'netmask6("{nm}")')
    E += [
        "filter(f_auth)",
        "not filter(f_auth)",
        "filter(f_auth) or filter(f_errors)",
        'filter("f_auth")',
        "filter(f_auth) and filter(f_sshd)",
        "filter(f_sshd) and not filter(f_errors)",
        "filter()",
    ]
    return E


def comparisons() -> list[str]:
    """Every operator on macros, pairs and casts against every kind of literal."""
    E = []
    lefts = [
        '"$PID"',
        '"${PID}"',
        "$PID",
        '"$LEVEL_NUM"',
        '"${FACILITY_NUM}"',
        '"$PRI"',
        '"$MSG"',
        '"$MESSAGE"',
        '"$HOST"',
        '"$PROGRAM"',
        '"${.SDATA.exampleSDID@32473.eventID}"',
        '"${.SDATA.exampleSDID@32473.iut}"',
        '"$SEQNUM"',
        '"${nosuch}"',
        '"$SOURCEIP"',
        '"$HOST_FROM"',
        '"$MSGID"',
        '"$LEVEL"',
        '"$FACILITY"',
        'int("$PID")',
        'int64("$PID")',
        'int32("$MSG")',
        'double("$MSG")',
        'float("$PID")',
        'string("$PID")',
        'boolean("$MSG")',
        "string(5)",
        "int(5)",
        '"x$PID"',
        '" $PID"',
        '"$PROTO"',
        '"$TAGS"',
        '"$UNIXTIME"',
        '"$R_UNIXTIME"',
        '"$YEAR"',
        '"$HOUR"',
        '"${PID}${PID}"',
        'int64("$MSG")',
        'datetime("$MSG")',
        'json("$MSG")',
        'null("$MSG")',
        'list("$MSG")',
        'literal("$MSG")',
    ]
    rights = [
        "0",
        '"0"',
        "1",
        '"1"',
        "-1",
        '"-1"',
        "1000",
        '"1000"',
        "20000",
        '"20000"',
        "2147483648",
        '"2147483648"',
        '""',
        '"abc"',
        '"sshd"',
        '"web1"',
        '"1k"',
        "1k",
        "1K",
        "1Ki",
        "1kb",
        "0x10",
        '"0x10"',
        "010",
        '"010"',
        "1.5",
        '"1.5"',
        "1.5e3",
        '"1.5e3"',
        '" 5"',
        '"5 "',
        '"+7"',
        "+7",
        '"$PID"',
        '"${PID}"',
        'int("12")',
        'string("12")',
        '"3"',
        "3",
        "6",
        '"6"',
        '"nan"',
        '"inf"',
        '"true"',
        'boolean("true")',
        "9223372036854775807",
        '"99999999999999999999"',
        '"ID47"',
        '"err"',
        '"auth"',
        '"127.0.0.1"',
        '"$LEVEL_NUM"',
        'double("1e3")',
        "-0",
        '"-0"',
        "0.0",
        '"0.0"',
    ]
    ops = ["==", "!=", "<", "<=", ">", ">=", "eq", "ne", "lt", "le", "gt", "ge", "===", "!=="]
    rng = random.Random(2)
    for left in lefts:
        for _ in range(10):
            E.append(f"{left} {rng.choice(ops)} {rng.choice(rights)}")
    for r in rights:
        for _ in range(4):
            E.append(f"{rng.choice(lefts)} {rng.choice(ops)} {r}")
    for op in ops:
        E += [
            f'"$PID" {op} "1234"',
            f'"$PID" {op} 1234',
            f'"$PID" {op} ""',
            f'"$MSG" {op} 0',
            f'"$MSG" {op} "0"',
            f'"$LEVEL_NUM" {op} 5',
            f'"$LEVEL_NUM" {op} "5"',
            f'5 {op} "$LEVEL_NUM"',
            f'"abc" {op} "abd"',
            f"1 {op} 2",
            f'"1" {op} "01"',
            f"1.0 {op} 1",
            f'"$PID"{op}"1234"',
        ]
    return E


def boolean(seed: int = 3, count: int = 250) -> list[str]:
    """Precedence: random and/or/not/;/parentheses, then hand-picked oddities."""
    atoms = [
        "facility(auth)",
        "level(err..emerg)",
        'program("sshd")',
        'message("failed" flags(ignore-case))',
        'host("^web")',
        '"$PID" > 1000',
        "facility(user)",
        "level(info)",
        'match("^1" value("PID"))',
        "netmask(127.0.0.0/8)",
        'tags(".source.s_net")',
        "filter(f_sshd)",
    ]
    E = []
    rng = random.Random(seed)

    def gen(d: int) -> str:
        if d == 0 or rng.random() < 0.3:
            return rng.choice(atoms)
        k = rng.random()
        if k < 0.15:
            return "not " + gen(d - 1)
        if k < 0.3:
            return "(" + gen(d - 1) + ")"
        return (
            gen(d - 1)
            + rng.choice([" and ", " or ", "; ", " AND ", " Or ", " && ", "\nand\n", " and#c\n "])
            + gen(d - 1)
        )

    for _ in range(count):
        E.append(gen(4))
    E += [
        "level(err);",
        "level(err);;",
        "level(err); ;",
        ";level(err)",
        "(level(err);)",
        "(level(err); facility(user))",
        "not level(err); facility(user)",
        "not (level(err); facility(user))",
        "level(err) or not level(err)",
        "not not not level(err)",
        "not(level(err))",
        "not(level(err)) and(facility(kern))",
        "level(err)and facility(kern)",
        "level(err)or facility(kern)",
        "level(err) # comment\n or facility(kern)",
        "level(err) \\\n or facility(kern)",
        "((((level(err)))))",
        "()",
        "level(err) and",
        "or level(err)",
        "level(err) and and facility(kern)",
        "level(err) facility(kern)",
        "level(err) , facility(kern)",
        "level(err) | facility(kern)",
        "level(err) || facility(kern)",
        "level(err) & facility(kern)",
        "NOT level(err)",
        "level(err) AND NOT facility(kern)",
        "level(err) or facility(kern) and program(kernel)",
        "(level(err) or facility(kern)) and program(kernel)",
        "level(err) and facility(kern) or program(sshd) and not level(info)",
        "not level(err) or not facility(kern)",
        "level(err) ; not facility(kern) or program(sshd)",
    ]
    return E


def regexes(seed: int, count: int) -> list[str]:
    """Seeded random PCRE patterns built from what people paste, with random flags."""
    rng = random.Random(seed)
    atoms = [
        "a",
        "e",
        "s",
        "d",
        "\\\\d",
        "\\\\w",
        "\\\\s",
        "\\\\S",
        "\\\\W",
        "\\\\D",
        ".",
        "[a-f]",
        "[^a-z ]",
        "[[:alpha:]]",
        "[[:digit:]]",
        "[[:space:]]",
        "[[:punct:]]",
        "[\\\\w.]",
        "\\\\.",
        "\\\\[",
        "\\\\]",
        "\\\\(",
        "-",
        ":",
        " ",
        "ss",
        "ed",
        "or",
        "0",
        "1",
        "\\\\b",
        "\\\\B",
        "^",
        "$",
        "\\\\xc3",
        "\\\\xa9",
        "\\xc3\\xa9",
        "\\\\t",
        "\\\\n",
        "(?i)",
        "(?-i)",
        "\\\\A",
        "\\\\z",
        "\\\\Z",
        "\\\\h",
        "\\\\v",
        "\\\\R",
        "[\\\\d\\\\s]",
        "[^\\\\d]",
        "\\\\Q.\\\\E",
        "[]]",
        "[\\\\]]",
        "[-a]",
        "[a-]",
    ]

    def gen(depth: int) -> str:
        if depth == 0 or rng.random() < 0.35:
            return rng.choice(atoms)
        k = rng.random()
        if k < 0.35:
            return gen(depth - 1) + gen(depth - 1)
        if k < 0.5:
            return gen(depth - 1) + "|" + gen(depth - 1)
        if k < 0.6:
            return "(" + gen(depth - 1) + ")"
        if k < 0.65:
            return "(?:" + gen(depth - 1) + ")"
        if k < 0.7:
            opener = rng.choice(["(?=", "(?!", "(?<=", "(?<!", "(?i:", "(?s:", "(?x:", "(?m:"])
            return opener + gen(depth - 1) + ")"
        quantifier = rng.choice(
            ["*", "+", "?", "*?", "+?", "??", "{2}", "{1,3}", "{2,}", "*+", "++", "{0}", "{,2}"]
        )
        return "(" + gen(depth - 1) + ")" + quantifier

    flags = [
        "",
        " flags(ignore-case)",
        " flags(utf8)",
        " flags(newline)",
        " flags(utf8 ignore-case)",
        " flags(newline ignore-case)",
    ]
    out = []
    for _ in range(count):
        fn = rng.choice(["message", "message", "program", "host", "match"])
        out.append(f'{fn}("{gen(4)}"{rng.choice(flags)})')
    return out


# -- running both sides ----------------------------------------------------------------
def _sng_config(filters: dict[str, str], port: int) -> str:
    tpl = sng._quote("$MSG")[:-1] + '\\x1e\\n"'
    body = [f"options {{ {sng.OPTIONS} }};\n", sng._source("syslog", "udp", port, "", "s_net")]
    for name, expr in DEFINITIONS.items():
        body.append(f"filter {name} {{ {expr}; }};\n")
    body.append(f'destination d_all {{ file("@WORK@/all" template({tpl})); }};\n')
    body.append("log { source(s_net); destination(d_all); flags(flow-control); };\n")
    for i, expr in enumerate(filters.values()):
        body.append(f"filter f{i} {{ {expr}; }};\n")
        body.append(f'destination d{i} {{ file("@WORK@/out{i}" template({tpl})); }};\n')
        body.append(
            f"log {{ source(s_net); filter(f{i}); destination(d{i}); flags(flow-control); }};\n"
        )
    return "".join(body)


def sng_outputs(frames: list[bytes], filters: dict[str, str]) -> dict[str, list[bytes]]:
    """sng.filter_outputs, but with hundreds of log paths: once the catch-all holds every
    frame, wait for the other files to stop growing before stopping syslog-ng."""
    for _attempt in range(3):
        port = sng._free_port(socket.SOCK_DGRAM)
        with sng.SyslogNg(_sng_config(filters, port)) as daemon:
            outs = [daemon.path(f"out{i}") for i in range(len(filters))]

            def done(n: int) -> bool:
                return len(sng._records(daemon.path("all"))) >= n

            sng._send(frames, port, "udp", "syslog", done, 30)
            if not done(len(frames)):
                continue  # a datagram was lost: run again
            last: list[int] = []
            stable_since = time.monotonic()
            while time.monotonic() - stable_since < 0.3:
                sizes = [os.path.getsize(p) if os.path.exists(p) else 0 for p in outs]
                if sizes != last:
                    last, stable_since = sizes, time.monotonic()
                time.sleep(0.05)
            daemon.stop()
            return {name: sng._records(p) for name, p in zip(filters, outs, strict=True)}
    raise AssertionError("syslog-ng kept losing datagrams")


def sng_accepts(expr: str) -> bool:
    """Does ``syslog-ng --syntax-only`` take the expression (in a log path)?"""
    with tempfile.TemporaryDirectory() as work:
        conf = os.path.join(work, "c.conf")
        with open(conf, "w") as f:
            f.write("@version: 3.38\nsource s_net { syslog(transport(udp) port(5999)); };\n")
            for name, definition in DEFINITIONS.items():
                f.write(f"filter {name} {{ {definition}; }};\n")
            f.write(f"filter f {{ {expr}; }};\nlog {{ source(s_net); filter(f); }};\n")
        return (
            subprocess.run([sng.require(), "-s", "-f", conf], capture_output=True).returncode == 0
        )


def relay_compile(exprs: list[str]) -> tuple[dict[str, object], list[str]]:
    defined: dict[str, object] = {}
    for name, expr in DEFINITIONS.items():
        defined[name] = compile_filter(expr, filters=defined, name=name)  # type: ignore[arg-type]
    compiled: dict[str, object] = {}
    rejected = []
    for expr in exprs:
        try:
            compiled[expr] = compile_filter(expr, filters=defined)  # type: ignore[arg-type]
        except FilterError:
            rejected.append(expr)
    return compiled, rejected


def relay_outputs(frames: list[bytes], compiled: dict[str, object]) -> dict[str, list[bytes]]:
    parser = Parser("auto", "s_net")
    peer = Peer("127.0.0.1", "127.0.0.1", 17, "127.0.0.1", 514)
    # syslog-ng runs with its clock held at sng.DEFAULT_NOW (UTC): receive times must agree
    now = calendar.timegm(time.strptime(sng.DEFAULT_NOW, "%Y-%m-%d %H:%M:%S")) * 10**9
    msgs: list[LogMessage] = [parser.parse(f, peer, now) for f in frames]
    out: dict[str, list[bytes]] = {}
    for expr, fn in compiled.items():
        passed = []
        for msg in msgs:
            copy = msg.copy()
            if fn(copy):  # type: ignore[operator]
                passed.append(copy.values.get("MESSAGE", "").encode("utf-8", "surrogateescape"))
        out[expr] = passed
    return out


def campaign(exprs: list[str], frames: list[bytes] = CORPUS, batch: int = 250) -> None:
    exprs = list(dict.fromkeys(exprs))
    compiled, rejected = relay_compile(exprs)
    with ThreadPoolExecutor(2) as pool:
        verdicts = list(pool.map(sng_accepts, rejected))
    problems = [f"relay rejects what syslog-ng accepts: {e}"
                for e, accepted in zip(rejected, verdicts, strict=True) if accepted]
    accepted = list(compiled)
    for start in range(0, len(accepted), batch):
        chunk = accepted[start : start + batch]
        try:
            expected = sng_outputs(frames, {f"e{i}": e for i, e in enumerate(chunk)})
        except RuntimeError:  # syslog-ng refused the config: find which ones
            bad = [e for e in chunk if not sng_accepts(e)]
            problems += [f"relay accepts what syslog-ng rejects: {e}" for e in bad]
            chunk = [e for e in chunk if e not in bad]
            expected = sng_outputs(frames, {f"e{i}": e for i, e in enumerate(chunk)})
        got = relay_outputs(frames, {e: compiled[e] for e in chunk})
        for i, expr in enumerate(chunk):
            want, have = expected[f"e{i}"], got[expr]
            if want != have:
                problems.append(
                    f"{expr}\n    syslog-ng only: {[w for w in want if w not in have]}"
                    f"\n    relay only:     {[h for h in have if h not in want]}"
                )
    assert not problems, "\n".join(problems)


# -- tests -----------------------------------------------------------------------------
@pytest.mark.syslog_ng
def test_functions_flags_and_types() -> None:
    sng.require()
    campaign(hand())


@pytest.mark.syslog_ng
def test_comparisons() -> None:
    sng.require()
    campaign(comparisons())


@pytest.mark.syslog_ng
def test_boolean_composition() -> None:
    sng.require()
    campaign(boolean())


def _valid_utf8(frame: bytes) -> bool:
    try:
        frame.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# PCRE runs utf8 patterns with PCRE_NO_UTF8_CHECK: on bytes that are not UTF-8 what it
# matches is undefined, so random utf8 patterns only see the frames that are UTF-8.
UTF8_CORPUS = [frame for frame in CORPUS if _valid_utf8(frame)]


def regex_campaign(exprs: list[str]) -> None:
    campaign([e for e in exprs if "utf8" not in e])
    campaign([e for e in exprs if "utf8" in e], UTF8_CORPUS)


@pytest.mark.syslog_ng
def test_random_regexes() -> None:
    sng.require()
    regex_campaign(regexes(7, 300))


EXAMPLES = int(os.environ.get("RELAY_SNG_EXAMPLES", "1"))


@pytest.mark.syslog_ng
@settings(max_examples=max(EXAMPLES, 1), deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 2**32))
def test_generated_campaign(seed: int) -> None:
    sng.require()
    rng = random.Random(seed)
    pool = hand() + comparisons()
    regex_campaign(regexes(seed, 150))
    campaign(rng.sample(pool, 150) + boolean(seed, 100))


def test_relay_side_runs_without_syslog_ng() -> None:
    """The relay half on its own: the campaign compiles and runs on the corpus."""
    exprs = hand() + comparisons() + boolean() + regexes(7, 300)
    compiled, rejected = relay_compile(exprs)
    assert len(rejected) < len(exprs) // 6
    assert relay_outputs(CORPUS, compiled)
