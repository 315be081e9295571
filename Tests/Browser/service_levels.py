#!/usr/bin/env python3
"""The console's service levels page in a real browser (Debian's chromium through chromium-driver
and Selenium). Run by ConsoleEndToEndTests:

    service_levels.py BASE_URL

with the administrator ada and the agent alan (passwords '<name> has a long password'), no
service level defined yet and the default priority matrix. Prints one line per step and exits 1 at the first one that does not hold."""
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from console_helpers import absent, browser, go_to, sign_in, sign_out, step, submit

base = sys.argv[1].rstrip("/")
assert base.startswith("http://127."), "loopback only"


def rows(driver):
    return [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#service-levels tbody tr")]


def fill(driver, fields):
    for element_id, value in fields.items():
        field = driver.find_element(By.ID, element_id)
        field.clear()
        field.send_keys(value)


def chosen_matrix(driver):
    """The matrix as the administrator's form shows it: rows of impact, the priority chosen for each urgency."""
    return [[Select(cell).first_selected_option.get_attribute("value") for cell in row.find_elements(By.TAG_NAME, "select")]
            for row in driver.find_elements(By.CSS_SELECTOR, "#priority-matrix tbody tr")]


def shown_matrix(driver):
    return [[cell.text for cell in row.find_elements(By.CSS_SELECTOR, "th, td")]
            for row in driver.find_elements(By.CSS_SELECTOR, "#priority-matrix tbody tr")]


driver = browser()
try:
    sign_in(driver, base, "ada")
    go_to(driver, "nav-service-levels")
    step("with none defined the page says records get no clocks", not absent(driver, "no-service-levels"))
    step("the priority matrix is the default one", chosen_matrix(driver) == [["P1", "P2", "P3"], ["P2", "P3", "P4"], ["P3", "P4", "P5"]])

    Select(driver.find_element(By.ID, "sla-priority")).select_by_value("P2")
    fill(driver, {"sla-response": "30", "sla-resolution": "270", "sla-time-zone": "Europe/Berlin", "sla-holidays": "2026-12-25, 2026-12-26"})
    fill(driver, {f"sla-{day}": "08:00-12:00, 13:00-18:00" for day in ["monday", "tuesday", "wednesday", "thursday", "friday"]})
    submit(driver, "sla-submit")
    listed = rows(driver)
    step("a service level set in the console is listed with its targets and hours",
         len(listed) == 1 and "P2" in listed[0] and "30 min" in listed[0] and "4 h 30 min" in listed[0]
         and "Mon–Fri 08:00-12:00, 13:00-18:00" in listed[0] and "Sat" not in listed[0] and "2026-12-25" in listed[0]
         and "Europe/Berlin" in listed[0])

    Select(driver.find_element(By.ID, "sla-priority")).select_by_value("P2")
    fill(driver, {"sla-response": "30", "sla-resolution": "soon"})
    submit(driver, "sla-submit")
    step("a target that is not a number is refused, naming the field", "resolutionMinutes" in driver.find_element(By.CSS_SELECTOR, ".message.error").text)

    Select(driver.find_element(By.ID, "sla-priority")).select_by_value("P3")
    fill(driver, {"sla-response": "60", "sla-resolution": "480", "sla-monday": "18:00-08:00"})
    submit(driver, "sla-submit")
    step("business hours that end before they start are refused, saying where",
         "calendar" in driver.find_element(By.CSS_SELECTOR, ".message.error").text and len(rows(driver)) == 1)

    Select(driver.find_element(By.ID, "sla-priority")).select_by_value("P2")
    fill(driver, {"sla-service": "email", "sla-response": "15", "sla-resolution": "120", "sla-time-zone": "UTC"})
    fill(driver, {f"sla-{day}": "00:00-24:00" for day in ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]})
    submit(driver, "sla-submit")
    step("one service's own target is listed beside the one for every service",
         len(rows(driver)) == 2 and any(r.startswith("email P2") and "2 h" in r for r in rows(driver)))

    # Medium impact with high urgency becomes P1, as for a desk whose VIP services cannot wait.
    Select(driver.find_element(By.ID, "matrix-medium-high")).select_by_value("P1")
    submit(driver, "matrix-submit")
    step("a changed priority matrix is saved and the incident process runs with it",
         "runs with it" in driver.find_element(By.ID, "notice").text
         and chosen_matrix(driver) == [["P1", "P2", "P3"], ["P1", "P3", "P4"], ["P3", "P4", "P5"]])

    sign_out(driver)
    sign_in(driver, base, "alan")
    step("an agent is not offered the page", absent(driver, "nav-service-levels"))
    driver.get(base + "/console/admin/service-levels")
    step("an agent who opens it reads the targets but gets no form", len(rows(driver)) == 2 and absent(driver, "set-service-level"))
    step("an agent reads the matrix as it is now, with no form to change it",
         shown_matrix(driver) == [["high", "P1", "P2", "P3"], ["medium", "P1", "P3", "P4"], ["low", "P3", "P4", "P5"]]
         and absent(driver, "matrix-form"))
    print("service levels: all steps passed", flush=True)
finally:
    driver.quit()
