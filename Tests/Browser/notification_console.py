#!/usr/bin/env python3
"""The console's notifications page in a real browser (Debian's chromium through chromium-driver
and Selenium). Run by NotificationEndToEndTests:

    notification_console.py BASE_URL

with the administrator ada (password 'ada has a long password') and a failed notification to
the webhook named gone. Prints one line per step and exits 1 at the first one that does not hold."""
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from console_helpers import browser, follow, go_to, sign_in, step

base = sys.argv[1].rstrip("/")
assert base.startswith("http://127."), "loopback only"
driver = browser()
try:
    sign_in(driver, base, "ada")
    go_to(driver, "nav-notifications")
    rules = {row.find_elements(By.TAG_NAME, "td")[0].text: row.text for row in driver.find_elements(By.CSS_SELECTOR, "#rules tbody tr")}
    step("the rules are listed, the defaults among them", "caller-on-resolution" in rules and "active" in rules["caller-on-resolution"])
    follow(driver, driver.find_element(By.ID, "rule-caller-on-resolution").click)
    row = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#rules tbody tr") if r.text.startswith("caller-on-resolution")][0]
    step("disabling a rule says so on the page", "disabled" in row)
    failed = [r for r in driver.find_elements(By.CSS_SELECTOR, "#deliveries tbody tr") if "failed" in r.text and "gone" in r.text]
    step("a failed notification shows why", failed and "HTTP 410" in failed[0].text)
    follow(driver, failed[0].find_element(By.TAG_NAME, "button").click)
    step("sending it again is taken", "Done" in driver.page_source or "done" in driver.page_source)
    driver.find_element(By.ID, "rule-name").send_keys("leads-on-p1-breach")
    Select(driver.find_element(By.ID, "rule-event")).select_by_value("incident.sla_breached")
    Select(driver.find_element(By.ID, "rule-recipient")).select_by_value("groupLeads")
    driver.find_element(By.ID, "rule-priorities").send_keys("p1")
    follow(driver, driver.find_element(By.ID, "rule-submit").click)
    row = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#rules tbody tr") if r.text.startswith("leads-on-p1-breach")]
    step("a rule made in the console is listed", row and "groupLeads" in row[0] and "active" in row[0])
    driver.find_element(By.ID, "rule-name").send_keys("Not A Name")
    follow(driver, driver.find_element(By.ID, "rule-submit").click)
    step("a bad one is refused, saying which field", "name: lower-case letters" in driver.page_source)
    print("notification console: all steps passed", flush=True)
finally:
    driver.quit()
