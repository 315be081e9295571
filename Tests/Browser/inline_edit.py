#!/usr/bin/env python3
"""Editing a record's details in a real browser (Debian's chromium through chromium-driver and
Selenium): in place, with the console's script, and through the plain form it falls back to.
Run by ConsoleEndToEndTests:

    inline_edit.py BASE_URL NUMBER TOKEN

with the agent alan (password 'alan has a long password'), NUMBER an incident of impact and
urgency medium, category 'hardware', no service, with a P3 service level running round the clock, and TOKEN one that may change it meanwhile. Prints one line per step and exits 1 at the
first one that does not hold."""
import json
import sys
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from console_helpers import browser, follow, sign_in, step, submit, text

base, number, token = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
assert base.startswith("http://127."), "loopback only"


def editor(driver, element_id):
    """The field a detail became when clicked."""
    driver.find_element(By.ID, element_id).click()
    return driver.find_element(By.CSS_SELECTOR, f"#{element_id} .inline-editor")


driver = browser()
try:
    sign_in(driver, base, "alan")
    driver.get(f"{base}/console/incidents/{number}")
    step("the record shows its details, priority from impact and urgency",
         text(driver, "category") == "hardware" and text(driver, "impact") == "medium" and text(driver, "priority") == "P3")
    countdowns = [clock.text for clock in driver.find_elements(By.CSS_SELECTOR, "time[data-countdown]")]
    step("its running service level clocks count down to their due times",
         len(countdowns) == 2 and any(" h " in c and c.endswith(" left)") for c in countdowns)
         and any(c.endswith(" min left)") for c in countdowns))

    field = editor(driver, "category")
    step("a clicked detail becomes its field, holding the value", field.get_attribute("value") == "hardware")
    field.send_keys(Keys.ESCAPE)
    step("Escape puts it back unchanged", text(driver, "category") == "hardware"
         and not driver.find_elements(By.CSS_SELECTOR, "#category .inline-editor"))

    field = editor(driver, "category")
    field.clear()
    field.send_keys("network")
    follow(driver, lambda: field.send_keys(Keys.ENTER))
    step("Enter saves it in place", text(driver, "category") == "network" and "Done" in text(driver, "notice"))

    choice = editor(driver, "impact")
    follow(driver, lambda: Select(choice).select_by_value("high"))
    step("a new impact is saved as chosen and the priority follows", text(driver, "impact") == "high" and text(driver, "priority") == "P2")

    field = editor(driver, "title")
    field.clear()
    follow(driver, lambda: field.send_keys(Keys.ENTER))
    step("an emptied title is refused, naming it, and the record keeps its own",
         "title" in text(driver, "error") and text(driver, "title") != "")

    # The same form opened by hand, while someone else changes another detail.
    driver.find_element(By.CSS_SELECTOR, "#edit-details summary").click()
    urllib.request.urlopen(urllib.request.Request(
        base + "/api/v1/rpc/incident.update", data=json.dumps({"number": number, "configurationItem": "MX-01"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + token}))
    driver.find_element(By.ID, "edit-service").send_keys("email")
    subcategory = driver.find_element(By.ID, "edit-subcategory")
    subcategory.clear()
    subcategory.send_keys("relay")
    submit(driver, "edit-submit")
    step("the form saves what was changed in it and keeps what someone else changed meanwhile",
         text(driver, "service") == "email" and text(driver, "subcategory") == "relay" and text(driver, "category") == "network"
         and text(driver, "configuration-item") == "MX-01")

    driver.find_element(By.CSS_SELECTOR, "#edit-details summary").click()
    driver.find_element(By.ID, "edit-service").clear()
    submit(driver, "edit-submit")
    step("an emptied detail is cleared", text(driver, "service") == "" and text(driver, "subcategory") == "relay")
    print("inline edit: all steps passed", flush=True)
finally:
    driver.quit()
