#!/usr/bin/env python3
"""Service requests in the console, in a real browser (Debian's chromium through chromium-driver
and Selenium). Run by ServiceRequestEndToEndTests:

    request_portal.py BASE_URL

with the laptop item (a form with a model to choose and a justification, two approval levels, the
team leads and then lena herself, an order task for procurement and a deliver task for the desk) and the people
rita (requester), lena (team lead), piet (procurement) and dora (desk), each with the password
'<name> has a long password'. Prints one line per step and exits 1 at the first that does not hold."""
import json
import sys
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from console_helpers import absent, browser, follow, go_to, sign_in, sign_out, step, submit, text

base = sys.argv[1].rstrip("/")
assert base.startswith("http://127."), "loopback only"


def api_as(name, method, params):
    """Calls `method` through the API as `name`, signed in with a session of their own."""
    signed = urllib.request.urlopen(urllib.request.Request(
        base + "/api/v1/session", data=json.dumps({"name": name, "password": name + " has a long password"}).encode(),
        headers={"Content-Type": "application/json"}))
    cookie = signed.headers["Set-Cookie"].split(";")[0]
    csrf = json.load(signed)["csrfToken"]
    return urllib.request.urlopen(urllib.request.Request(
        base + "/api/v1/rpc/" + method, data=json.dumps(params).encode(),
        headers={"Content-Type": "application/json", "Cookie": cookie, "X-CSRF-Token": csrf})).status


driver = browser()
try:
    # Rita asks for a laptop from the catalogue; the form is drawn from the item's schema.
    sign_in(driver, base, "rita")
    go_to(driver, "nav-requests")
    follow(driver, driver.find_element(By.ID, "item-laptop").click)
    model = Select(driver.find_element(By.ID, "field-model"))
    step("the form offers the item's options, its default chosen", [o.text for o in model.options] == ["standard", "developer"]
         and model.first_selected_option.text == "standard")
    step("a field's help is shown", "Why the current one" in text(driver, "help-justification"))
    step("a requester is not offered to ask for someone else", absent(driver, "field-requester"))
    model.select_by_value("developer")
    driver.find_element(By.ID, "field-justification").send_keys("Battery swollen")
    submit(driver, "raise-submit")
    number = text(driver, "number")
    step("the request is raised and waits for approval", number.startswith("REQ-") and text(driver, "status") == "awaiting approval")
    answers = text(driver, "answers")
    step("the answers are kept as given", "developer" in answers and "Battery swollen" in answers)
    step("the requester cannot approve her own request", absent(driver, "approve"))
    # While she looks at it, the first level approves it elsewhere: the page says it changed.
    step("the team lead approves the first level through the API", api_as("lena", "request.decide", {"number": number, "decision": "approve"}) == 200)
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "live-notice").is_displayed())
    step("the open page says it changed, without a reload", "changed since you opened" in text(driver, "live-notice"))
    follow(driver, driver.find_element(By.CSS_SELECTOR, "#live-notice a").click)
    step("showing the latest shows the first level approved", "approved" in text(driver, "approvals"))
    sign_out(driver)

    # Lena, a team lead, finds it awaiting her and approves it.
    sign_in(driver, base, "lena")
    go_to(driver, "nav-requests")
    waiting = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#awaiting tbody tr")]
    step("it is listed as awaiting her approval, at its second level", any(number in row for row in waiting))
    follow(driver, driver.find_element(By.LINK_TEXT, number).click)
    driver.find_element(By.ID, "decide-comment").send_keys("Budgeted")
    submit(driver, "approve")
    step("approved, fulfilment starts", text(driver, "status") == "in fulfilment" and "approved" in text(driver, "approvals"))
    sign_out(driver)

    # Dora, on the desk, may not do procurement's task; Piet does it, then Dora delivers.
    sign_in(driver, base, "dora")
    driver.get(base + "/console/requests/" + number)
    submit(driver, "complete-1")
    step("another group's task is refused, saying whose it is", "carried out by procurement" in text(driver, "error"))
    sign_out(driver)
    sign_in(driver, base, "piet")
    go_to(driver, "nav-requests")
    step("the task is among his group's", any(number in row.text for row in driver.find_elements(By.CSS_SELECTOR, "#tasks tbody tr")))
    follow(driver, driver.find_element(By.LINK_TEXT, number).click)
    driver.find_element(By.ID, "notes-1").send_keys("PO 4711")
    submit(driver, "complete-1")
    step("the order is done, the delivery is ready", "PO 4711" in text(driver, "tasks") and absent(driver, "complete-1"))
    sign_out(driver)
    sign_in(driver, base, "dora")
    driver.get(base + "/console/requests/" + number)
    submit(driver, "complete-2")
    step("the last task fulfils the request", text(driver, "status") == "fulfilled")
    sign_out(driver)

    # Rita sees it fulfilled, with its clock.
    sign_in(driver, base, "rita")
    driver.get(base + "/console/requests/" + number)
    step("the requester sees it fulfilled within its target", text(driver, "status") == "fulfilled" and "within the target" in text(driver, "clock"))
    print("request portal: all steps passed", flush=True)
finally:
    driver.quit()
