#!/usr/bin/env python3
"""The console in a real browser (Debian's chromium through chromium-driver and Selenium),
against a running coordinator on loopback. Run by ConsoleEndToEndTests:

    console_flows.py BASE_URL OTHER_NUMBER [SCREENSHOT_DIR]

with the accounts the test made: rita (requester), alan (agent), ada (administrator) and audrey
(auditor), passwords '<name> has a long password'. OTHER_NUMBER is a record someone else reported. Prints one line per step and
exits 1 at the first one that does not hold. With SCREENSHOT_DIR, saves the main pages there
as PNG (deploy/local/console-screenshots.sh makes the ones in docs/images)."""
import json
import os
import sys
import urllib.error
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from console_helpers import absent, browser, follow, go_to, step, submit, text
from console_helpers import sign_in as sign_in_at

base, other = sys.argv[1].rstrip("/"), sys.argv[2]
shots = sys.argv[3] if len(sys.argv) > 3 else None


def screenshot(driver, name):
    if shots:
        driver.save_screenshot(os.path.join(shots, f"console-{name}.png"))
assert base.startswith("http://127.") or base.startswith("http://localhost"), "loopback only"


def sign_in(driver, name):
    sign_in_at(driver, base, name)


requester, agent = browser(), browser()
try:
    # The requester reports an incident in the portal and follows it.
    requester.get(base + "/console/login")
    screenshot(requester, "sign-in")
    sign_in(requester, "rita")
    requester.find_element(By.ID, "report-title").send_keys("Printer jams on floor 3")
    Select(requester.find_element(By.ID, "report-urgency")).select_by_value("high")
    submit(requester, "report-submit")
    number = text(requester, "number")
    step(f"rita: reported {number}, which names her as caller", number.startswith("INC-") and "rita" in requester.page_source)
    requester.get(base + "/console/")
    rows = [row.text for row in requester.find_elements(By.CSS_SELECTOR, "#queue tbody tr")]
    step(f"rita: her queue lists only her own records ({len(rows)})", len(rows) == 1 and number in rows[0])
    requester.find_element(By.ID, "search-query").send_keys("laptop")
    follow(requester, lambda: requester.find_element(By.ID, "search-query").submit())
    step("rita: search does not find someone else's record", "Nothing here." in requester.page_source)
    requester.get(base + "/console/incidents/" + other)
    step("rita: someone else's record is not there for her", "not yours to see" in text(requester, "message"))

    # The agent takes it from the New queue and works it.
    sign_in(agent, "alan")
    agent.get(base + "/console/?queue=new")
    follow(agent, lambda: agent.find_element(By.LINK_TEXT, number).click())
    step(f"alan: opened {number} from the New queue", text(agent, "number") == number)
    agent.get(base + "/console/?queue=unassigned")
    step("alan: it waits in the Unassigned queue", number in text(agent, "queue"))
    agent.get(base + f"/console/incidents/{number}")
    agent.find_element(By.ID, "assign-group").send_keys("desk")
    agent.find_element(By.ID, "assign-assignee").send_keys("alan")
    submit(agent, "assign-submit")
    step("alan: assigned it to himself", text(agent, "assignee") == "alan" and text(agent, "status") == "assigned")
    agent.find_element(By.ID, "comment-body").send_keys("Paper path blocked; ordering a roller.")
    submit(agent, "comment-submit")
    agent.find_element(By.ID, "comment-body").send_keys("A technician comes at 3 pm.")
    Select(agent.find_element(By.ID, "comment-visibility")).select_by_value("customer")
    submit(agent, "comment-submit")
    step("alan: a work note and a customer comment", len(agent.find_elements(By.CSS_SELECTOR, "#comments li")) == 2)
    Select(agent.find_element(By.ID, "transition-to")).select_by_value("in_progress")
    submit(agent, "transition-submit")
    step("alan: in progress", text(agent, "status") == "in_progress")
    # The whole floor cannot print: a major incident, escalated to management.
    agent.find_element(By.ID, "major-reason").send_keys("The whole second floor cannot print")
    submit(agent, "major-submit")
    step("alan: declared it a major incident, with why and by whom",
         "The whole second floor cannot print" in text(agent, "major") and "alan" in text(agent, "major")
         and absent(agent, "declare-major"))
    Select(agent.find_element(By.ID, "escalate-kind")).select_by_value("functional")
    submit(agent, "escalate-submit")
    step("alan: a functional escalation without a group is refused, naming it", "toGroup" in text(agent, "error"))
    Select(agent.find_element(By.ID, "escalate-kind")).select_by_value("hierarchical")
    agent.find_element(By.ID, "escalate-reason").send_keys("Printing is down for 40 people")
    submit(agent, "escalate-submit")
    step("alan: escalated to management, level 1", text(agent, "escalation") == "1")
    Select(agent.find_element(By.ID, "transition-to")).select_by_value("resolved")
    submit(agent, "transition-submit")
    step("alan: resolving without a code is refused, naming what is missing",
         "resolution" in text(agent, "error").lower() and text(agent, "status") == "in_progress")
    Select(agent.find_element(By.ID, "transition-to")).select_by_value("resolved")
    agent.find_element(By.ID, "transition-code").send_keys("fixed")
    agent.find_element(By.ID, "transition-notes").send_keys("Roller replaced")
    submit(agent, "transition-submit")
    step("alan: resolved", text(agent, "status") == "resolved")
    agent.find_element(By.ID, "review-summary").send_keys("A worn roller jammed the floor's only printer.")
    agent.find_element(By.ID, "review-actions").send_keys("Keep a spare roller\nAdd a second printer")
    submit(agent, "review-submit")
    step("alan: the post-incident review is recorded with its two actions",
         "worn roller" in text(agent, "review") and len(agent.find_elements(By.CSS_SELECTOR, "#review li")) == 2
         and absent(agent, "review-form"))
    agent.get(base + "/console/?queue=breached")
    step("alan: nothing has missed its service level yet", "Nothing here." in agent.page_source)
    agent.get(base + "/console/?queue=unassigned")
    step("alan: with an assignee it has left the Unassigned queue", number not in agent.page_source)
    agent.get(base + "/console/?queue=at-risk")
    step("alan: nothing is at risk either", "Nothing here." in agent.page_source)
    agent.get(base + "/console/?queue=mine")
    step("alan: it is in his queue", number in text(agent, "queue"))
    agent.find_element(By.ID, "search-query").send_keys("printer jams")
    follow(agent, lambda: agent.find_element(By.ID, "search-query").submit())
    marks = [mark.text.lower() for mark in agent.find_elements(By.CSS_SELECTOR, "#hits mark")]
    step("alan: search finds it, the matched words marked", number in text(agent, "hits") and "printer" in marks)
    screenshot(agent, "queue")
    agent.get(base + "/console/incidents/" + number)
    screenshot(agent, "record")

    # An auditor reads everything and changes nothing: a form posted to the console by hand is
    # held to the method's permission, as the API holds it.
    signed = urllib.request.urlopen(urllib.request.Request(
        base + "/api/v1/session", data=b'{"name": "audrey", "password": "audrey has a long password"}',
        headers={"Content-Type": "application/json"}))
    cookie, csrf = signed.headers["Set-Cookie"].split(";")[0], json.load(signed)["csrfToken"]
    answered = urllib.request.urlopen(urllib.request.Request(
        base + f"/console/incidents/{number}/assign", data=f"_csrf={csrf}&assignee=audrey".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})).read().decode()
    agent.get(base + "/console/incidents/" + number)
    step("audrey (auditor): the console refuses her an assignment, as the API would",
         "lacks the permission &#39;incident.write&#39;" in answered or "lacks the permission 'incident.write'" in answered)
    step("audrey (auditor): the record is still alan's", text(agent, "assignee") == "alan")

    # Back to the requester: only the customer comment, and she confirms the resolution.
    requester.get(base + "/console/incidents/" + number)
    comments = [item.text for item in requester.find_elements(By.CSS_SELECTOR, "#comments li")]
    step("rita: sees the customer comment and not the work note",
         len(comments) == 1 and "3 pm" in comments[0] and "roller" not in comments[0].lower())
    screenshot(requester, "requester-record")
    submit(requester, "confirm")
    step("rita: confirmed; it is closed", text(requester, "status") == "closed")

    # A form posted from elsewhere carries the cookie but not the form token: refused.
    cookie = requester.get_cookie("itsm_session")["value"]
    forged = urllib.request.Request(base + "/console/incidents", data=b"title=Forged", method="POST",
                                    headers={"Cookie": "itsm_session=" + cookie,
                                             "Content-Type": "application/x-www-form-urlencoded"})
    try:
        status = urllib.request.urlopen(forged).status
    except urllib.error.HTTPError as error:
        status = error.code
    step("a post without the form token is refused (403)", status == 403)

    page = requester.find_element(By.TAG_NAME, "html")
    requester.get(base + "/console/admin/users")
    step("rita: the people page is not hers (403) and not in her menu",
         "lacks the permission" in text(requester, "message") and absent(requester, "nav-people"))
    follow(requester, requester.find_element(By.CSS_SELECTOR, "header form button").click)
    requester.get(base + "/console/")
    step("rita: signed out, the console asks her to sign in again", requester.current_url.endswith("/console/login"))
    # The administrator: people, groups and the audit log.
    admin = browser()
    try:
        sign_in(admin, "ada")
        go_to(admin, "nav-people")
        admin.find_element(By.ID, "account-name").send_keys("nina")
        admin.find_element(By.ID, "account-display").send_keys("Nina New")
        admin.find_element(By.CSS_SELECTOR, "input[name=role][value=agent]").click()
        admin.find_element(By.ID, "account-password").send_keys("nina has a long password")
        submit(admin, "account-submit")
        step("ada: created nina as an agent", "nina: Done." in text(admin, "notice") and "Nina New" in text(admin, "accounts"))
        submit(admin, "disable-nina")
        row = [r.text for r in admin.find_elements(By.CSS_SELECTOR, "#accounts tbody tr") if r.text.startswith("nina")]
        step("ada: disabled nina", len(row) == 1 and "disabled" in row[0])
        admin.find_element(By.ID, "password-account").send_keys("audrey")
        admin.find_element(By.ID, "password-new").send_keys("audrey has a brand new password")
        submit(admin, "password-submit")

        def signs_in(name, password):
            try:
                return urllib.request.urlopen(urllib.request.Request(
                    base + "/api/v1/session", data=json.dumps({"name": name, "password": password}).encode(),
                    headers={"Content-Type": "application/json"})).status == 200
            except urllib.error.HTTPError:
                return False
        step("ada: reset audrey's password; the new one signs her in, the old one no longer",
             "audrey: Done." in text(admin, "notice") and signs_in("audrey", "audrey has a brand new password")
             and not signs_in("audrey", "audrey has a long password"))
        admin.get(base + "/console/admin/groups")
        admin.find_element(By.ID, "group-name").send_keys("network")
        admin.find_element(By.ID, "group-leads").send_keys("alan")
        admin.find_element(By.ID, "group-description").send_keys("WAN and VPN")
        submit(admin, "group-submit")
        step("ada: defined the network group led by alan", "WAN and VPN" in text(admin, "groups"))
        go_to(admin, "nav-roles")
        admin.find_element(By.ID, "role-name").send_keys("change-manager")
        admin.find_element(By.ID, "role-description").send_keys("Reads and changes incidents")
        admin.find_element(By.ID, "role-permissions").send_keys("incident.read incident.write")
        submit(admin, "role-submit")
        step("ada: defined the change-manager role", "incident.read incident.write" in text(admin, "roles")
             and absent(admin, "delete-role-administrator"))
        submit(admin, "delete-role-change-manager")
        step("ada: removed it again", "change-manager" not in text(admin, "roles"))
        go_to(admin, "nav-tokens")
        admin.find_element(By.ID, "token-name").send_keys("ci-bot")
        admin.find_element(By.ID, "token-permissions").send_keys("incident.read")
        submit(admin, "token-submit")
        secret = text(admin, "secret")
        step("ada: issued ci-bot; its secret is shown once, and it is listed without it",
             secret.startswith("itsm_") and "ci-bot" in text(admin, "tokens") and secret not in text(admin, "tokens")
             and "secret" not in admin.current_url and secret not in admin.current_url)

        def session_with(token):
            try:
                return urllib.request.urlopen(urllib.request.Request(
                    base + "/api/v1/session", headers={"Authorization": "Bearer " + token})).status
            except urllib.error.HTTPError as error:
                return error.code
        step("ci-bot: its token works against the API", session_with(secret) == 200)
        admin.get(base + "/console/admin/tokens")
        step("ada: the secret is not shown again", absent(admin, "secret"))
        submit(admin, "revoke-ci-bot")
        step("ada: revoked ci-bot; its token no longer works", "ci-bot" not in text(admin, "tokens") and session_with(secret) == 401)
        step("ada: ci-bot stays listed among the revoked tokens, with when", "ci-bot" in text(admin, "revoked-tokens"))
        admin.get(base + "/console/audit")
        log = text(admin, "audit")
        step("ada: the audit log shows the day's work and its chain is intact",
             "The hash chain is intact" in text(admin, "chain") and "incident.assign" in log and "account.create" in log
             and "group.put" in log and "role.put" in log and "token.issue" in log and "token.revoke" in log and "user:rita" in log
             and secret not in admin.page_source and "brand new password" not in admin.page_source)
        screenshot(admin, "audit")
    finally:
        admin.quit()
finally:
    requester.quit()
    agent.quit()
print("console flows: all steps passed")
