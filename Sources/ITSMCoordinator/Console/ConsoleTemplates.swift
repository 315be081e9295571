import Mustache

/// The console's pages as Mustache templates, compiled into the coordinator so a single binary
/// serves them. `{{…}}` escapes HTML; words come from `ConsoleStrings` as `{{t.key}}`.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in templates {
            // The templates are ours and fixed: one that does not compile is a bug found by any test.
            try! library.register(text, named: name)
        }
        return library
    }()

    static let templates: [String: String] = [
        "header": """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{title}} · {{t.product}}</title>
            <link rel="stylesheet" href="/console/style.css">
            </head>
            <body>
            <header class="bar">
              <a class="brand" href="/console/">{{t.product}}</a>
              {{#user}}
              <nav class="sections" aria-label="{{t.sections}}">
                <a href="/console/">{{t.queues}}</a>
                {{#canSeeRequests}}<a href="/console/requests" id="nav-requests">{{t.requests}}</a>{{/canSeeRequests}}
                <a href="/console/processes" id="nav-processes">{{t.processes}}</a>
                {{#menus}}
                <details class="menu" id="menu-{{id}}"><summary>{{label}}</summary>
                  <div class="menu-items">{{#links}}<a href="{{href}}" id="nav-{{id}}">{{label}}</a>{{/links}}</div>
                </details>
                {{/menus}}
              </nav>
              <form method="get" action="/console/search" class="inline search" role="search">
                <label for="search-query" class="hidden">{{t.search}}</label>
                <input id="search-query" name="q" type="search" placeholder="{{t.search}}" value="{{query}}">
              </form>
              <span class="who">{{t.signedInAs}} <strong id="user">{{name}}</strong> ({{roles}})</span>
              <form method="post" action="/console/logout" class="inline">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <button type="submit">{{t.signOut}}</button>
              </form>
              {{/user}}
            </header>
            <main>
            {{#error}}<p class="message error" role="alert" id="error">{{error}}</p>{{/error}}
            {{#notice}}<p class="message notice" role="status" id="notice">{{notice}}</p>{{/notice}}
            {{#live}}<p class="message notice" role="status" id="live-notice" data-live="{{live}}" hidden>{{t.changedSince}} <a href="">{{t.reload}}</a></p>{{/live}}
            """,
        "history": """
            {{#hasHistory}}
            <section class="card">
              <h2>{{t.history}}</h2>
              <table><thead><tr><th>{{t.at}}</th><th>{{t.by}}</th><th>{{t.field}}</th><th>{{t.from}}</th><th>{{t.to}}</th></tr></thead>
              <tbody>{{#history}}<tr><td>{{at}}</td><td>{{actor}}</td><td>{{field}}</td><td>{{oldValue}}</td><td>{{newValue}}</td></tr>{{/history}}</tbody></table>
            </section>
            {{/hasHistory}}
            """,
        "footer": """
            </main>
            <aside id="shortcuts" class="card shortcuts" hidden>
              <h2>{{t.shortcuts}}</h2>
              <dl><dt>/</dt><dd>{{t.search}}</dd><dt>c</dt><dd>{{t.addComment}}</dd><dt>g q</dt><dd>{{t.queues}}</dd>
              <dt>g r</dt><dd>{{t.requests}}</dd><dt>g p</dt><dd>{{t.processes}}</dd><dt>Esc</dt><dd>{{t.leaveField}}</dd><dt>?</dt><dd>{{t.shortcuts}}</dd></dl>
            </aside>
            <script src="/console/console.js" defer></script>
            </body>
            </html>
            """,
        "login": """
            {{> header}}
            <section class="card narrow">
              <h1>{{t.signIn}}</h1>
              <form method="post" action="/console/login">
                <label for="name">{{t.name}}</label>
                <input id="name" name="name" autocomplete="username" required value="{{name}}" autofocus>
                <label for="password">{{t.password}}</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required>
                <button type="submit" id="sign-in">{{t.signIn}}</button>
              </form>
            </section>
            {{> footer}}
            """,
        "home": """
            {{> header}}
            {{#canReport}}
            <section class="card">
              <h2>{{t.reportTitle}}</h2>
              <form method="post" action="/console/incidents" id="report">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="report-title">{{t.title}}</label>
                <input id="report-title" name="title" required maxlength="200">
                <label for="report-description">{{t.description}}</label>
                <textarea id="report-description" name="description" rows="3"></textarea>
                <div class="row">
                  <span><label for="report-impact">{{t.impact}}</label>
                  <select id="report-impact" name="impact"><option value="low">{{t.low}}</option><option value="medium" selected>{{t.medium}}</option><option value="high">{{t.high}}</option></select></span>
                  <span><label for="report-urgency">{{t.urgency}}</label>
                  <select id="report-urgency" name="urgency"><option value="low">{{t.low}}</option><option value="medium" selected>{{t.medium}}</option><option value="high">{{t.high}}</option></select></span>
                </div>
                <button type="submit" id="report-submit">{{t.report}}</button>
              </form>
            </section>
            {{/canReport}}
            <section class="card">
              <h1>{{queueTitle}}</h1>
              <nav class="tabs" aria-label="{{t.queues}}">
                {{#queues}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a>{{/queues}}
              </nav>
              <form method="get" action="/console/" class="row" id="queue-filter">
                <input type="hidden" name="queue" value="{{queueId}}">
                <span><label for="queue-priority">{{t.priority}}</label>
                <select id="queue-priority" name="priority"><option value="">{{t.anyPriority}}</option>{{#priorityChoices}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{value}}</option>{{/priorityChoices}}</select></span>
                {{#customerFilter}}<span><label for="queue-customer">{{t.customer}}</label>
                <input id="queue-customer" name="customer" value="{{value}}" list="queue-customers" placeholder="{{t.anyCustomer}}"><datalist id="queue-customers">{{#customerChoices}}<option value="{{.}}">{{/customerChoices}}</datalist></span>{{/customerFilter}}
                <span><label for="queue-sort">{{t.sortBy}}</label>
                <select id="queue-sort" name="sort">{{#sorts}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/sorts}}</select></span>
                <span><button type="submit" id="queue-filter-submit">{{t.filter}}</button></span>
              </form>
              {{#hasRows}}
              <table id="queue">
                <thead><tr><th>{{t.number}}</th><th>{{t.title}}</th><th>{{t.priority}}</th><th>{{t.status}}</th><th>{{t.group}}</th><th>{{t.assignee}}</th><th>{{t.updated}}</th></tr></thead>
                <tbody>
                {{#rows}}
                <tr><td><a href="{{href}}">{{number}}</a></td><td>{{title}}</td><td><span class="pill {{priority}}">{{priority}}</span></td><td>{{status}}</td><td>{{group}}</td><td>{{assignee}}</td><td>{{updated}}</td></tr>
                {{/rows}}
                </tbody>
              </table>
              <p class="pages">{{shown}} {{t.shown}} {{#totalIsEstimate}}{{t.about}} {{/totalIsEstimate}}{{total}}
                {{#firstPageLink}}<a href="{{firstPageLink}}">{{t.firstPage}}</a>{{/firstPageLink}}
                {{#next}}<a href="{{next}}" rel="next">{{t.next}}</a>{{/next}}
              </p>
              {{/hasRows}}
              {{^hasRows}}<p>{{t.nothing}}</p>{{/hasRows}}
            </section>
            {{> footer}}
            """,
        "incident": """
            {{> header}}
            <p><a href="/console/">{{t.back}}</a></p>
            {{#incident}}
            <section class="card">
              <h1><span id="number">{{number}}</span> <span id="title" data-edit="edit-title">{{title}}</span></h1>
              <dl class="fields">
                <dt>{{t.status}}</dt><dd id="status">{{status}}</dd>
                <dt>{{t.priority}}</dt><dd id="priority"><span class="pill {{priority}}">{{priority}}</span></dd>
                <dt>{{t.impact}}</dt><dd id="impact" data-edit="edit-impact">{{impact}}</dd>
                <dt>{{t.urgency}}</dt><dd id="urgency" data-edit="edit-urgency">{{urgency}}</dd>
                <dt>{{t.caller}}</dt><dd>{{caller}}</dd>
                {{#customer}}<dt>{{t.customer}}</dt><dd id="customer">{{customer}}</dd>{{/customer}}
                <dt>{{t.service}}</dt><dd id="service" data-edit="edit-service">{{service}}</dd>
                <dt>{{t.configurationItem}}</dt><dd id="configuration-item" data-edit="edit-configuration-item">{{configurationItem}}</dd>
                <dt>{{t.category}}</dt><dd id="category" data-edit="edit-category">{{category}}</dd>
                <dt>{{t.subcategory}}</dt><dd id="subcategory" data-edit="edit-subcategory">{{subcategory}}</dd>
                <dt>{{t.group}}</dt><dd id="group">{{assignmentGroup}}</dd>
                <dt>{{t.assignee}}</dt><dd id="assignee">{{assignee}}</dd>
                <dt>{{t.created}}</dt><dd>{{createdAt}}</dd>
                {{#escalationLevel}}<dt>{{t.escalationLevel}}</dt><dd id="escalation">{{escalationLevel}}</dd>{{/escalationLevel}}
                {{#problem}}<dt>{{t.problem}}</dt><dd id="problem">{{#problemLink}}<a href="{{problemLink}}">{{problem}}</a>{{/problemLink}}{{^problemLink}}{{problem}}{{/problemLink}}</dd>{{/problem}}
                {{#knownError}}<dt>{{t.knownError}}</dt><dd id="known-error">{{#knownErrorLink}}<a href="{{knownErrorLink}}">{{knownError}}</a>{{/knownErrorLink}}{{^knownErrorLink}}{{knownError}}{{/knownErrorLink}}</dd>{{/knownError}}
              </dl>
              {{#major}}<p class="major" id="major"><strong>{{t.majorIncident}}</strong>{{#majorReason}}: {{majorReason}}{{/majorReason}}{{#majorDeclaredBy}} ({{majorDeclaredBy}}){{/majorDeclaredBy}}</p>{{/major}}
              {{#description}}<p class="description" id="description" data-edit="edit-description">{{description}}</p>{{/description}}
              {{#workaround}}<p class="notice"><strong>{{t.workaround}}:</strong> {{workaround}}</p>{{/workaround}}
              {{#review}}<div id="review"><h2>{{t.review}}</h2><p>{{summary}}</p>{{#by}}<p class="meta">{{by}}</p>{{/by}}<ul>{{#actions}}<li>{{.}}</li>{{/actions}}</ul></div>{{/review}}
            </section>
            {{/incident}}
            {{#hasClocks}}
            <section class="card">
              <h2>{{t.serviceLevels}}</h2>
              <ul class="clocks">{{#clocks}}<li class="{{state}}">{{kind}}: {{state}}{{#due}}, {{t.due}} <time datetime="{{dueAt}}" data-countdown data-left="{{t.timeLeft}}" data-overdue="{{t.overdueBy}}">{{due}}</time>{{/due}}</li>{{/clocks}}</ul>
            </section>
            {{/hasClocks}}
            {{#desk}}
            <section class="card">
              <details id="edit-details">
                <summary>{{t.editDetails}}</summary>
                {{#edit}}
                <form method="post" action="{{base}}/update" id="edit">
                  <input type="hidden" name="_csrf" value="{{csrf}}">
                  <p class="help">{{t.editHelp}}</p>
                  <label for="edit-title">{{t.title}}</label><input id="edit-title" name="title" value="{{title}}" required><input type="hidden" name="was-title" value="{{title}}">
                  <label for="edit-impact">{{t.impact}}</label>
                  <select id="edit-impact" name="impact">{{#impact}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{value}}</option>{{/impact}}</select>{{#impact}}{{#selected}}<input type="hidden" name="was-impact" value="{{value}}">{{/selected}}{{/impact}}
                  <label for="edit-urgency">{{t.urgency}}</label>
                  <select id="edit-urgency" name="urgency">{{#urgency}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{value}}</option>{{/urgency}}</select>{{#urgency}}{{#selected}}<input type="hidden" name="was-urgency" value="{{value}}">{{/selected}}{{/urgency}}
                  <label for="edit-service">{{t.service}}</label><input id="edit-service" name="service" value="{{service}}"><input type="hidden" name="was-service" value="{{service}}">
                  <label for="edit-configuration-item">{{t.configurationItem}}</label><input id="edit-configuration-item" name="configurationItem" value="{{configurationItem}}"><input type="hidden" name="was-configurationItem" value="{{configurationItem}}">
                  <label for="edit-category">{{t.category}}</label><input id="edit-category" name="category" value="{{category}}"><input type="hidden" name="was-category" value="{{category}}">
                  <label for="edit-subcategory">{{t.subcategory}}</label><input id="edit-subcategory" name="subcategory" value="{{subcategory}}"><input type="hidden" name="was-subcategory" value="{{subcategory}}">
                  <label for="edit-description">{{t.description}}</label><textarea id="edit-description" name="description" rows="4">{{description}}</textarea><input type="hidden" name="was-description" value="{{description}}">
                  <button type="submit" id="edit-submit">{{t.saveChanges}}</button>
                </form>
                {{/edit}}
              </details>
            </section>
            <section class="card actions">
              <form method="post" action="{{base}}/assign" id="assign">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="assign-group">{{t.group}}</label><input id="assign-group" name="assignmentGroup" value="{{incident.assignmentGroup}}">
                <label for="assign-assignee">{{t.assignee}}</label><input id="assign-assignee" name="assignee" value="{{incident.assignee}}">
                <button type="submit" id="assign-submit">{{t.assign}}</button>
              </form>
              <form method="post" action="{{base}}/transition" id="transition">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="transition-to">{{t.moveTo}}</label>
                <select id="transition-to" name="to">{{#targets}}<option value="{{.}}">{{.}}</option>{{/targets}}</select>
                <label for="transition-code">{{t.resolutionCode}}</label><input id="transition-code" name="resolutionCode">
                <label for="transition-notes">{{t.resolutionNotes}}</label><input id="transition-notes" name="resolutionNotes">
                <label for="transition-hold">{{t.holdReason}}</label>
                <select id="transition-hold" name="holdReason"><option value=""></option><option>awaiting_caller</option><option>awaiting_supplier</option><option>awaiting_change</option></select>
                <button type="submit" id="transition-submit">{{t.move}}</button>
              </form>
              {{#canEscalate}}
              <form method="post" action="{{base}}/escalate" id="escalate">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="escalate-kind">{{t.escalate}}</label>
                <select id="escalate-kind" name="kind"><option value="hierarchical">{{t.hierarchical}}</option><option value="functional">{{t.functional}}</option></select>
                <label for="escalate-group">{{t.toGroup}}</label><input id="escalate-group" name="toGroup">
                <label for="escalate-reason">{{t.reason}}</label><input id="escalate-reason" name="reason">
                <button type="submit" id="escalate-submit">{{t.escalate}}</button>
              </form>
              {{/canEscalate}}
              {{#canDeclareMajor}}
              <form method="post" action="{{base}}/declare_major" id="declare-major">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="major-reason">{{t.majorReason}}</label><input id="major-reason" name="reason" required>
                <button type="submit" id="major-submit">{{t.declareMajor}}</button>
              </form>
              {{/canDeclareMajor}}
              <form method="post" action="{{base}}/link" id="link">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="link-parent">{{t.parent}}</label><input id="link-parent" name="parent" placeholder="INC-000001">
                <label for="link-duplicate">{{t.duplicateOf}}</label><input id="link-duplicate" name="duplicateOf" placeholder="INC-000001">
                <label for="link-problem">{{t.problem}}</label><input id="link-problem" name="problem" placeholder="PRB-000001">
                <label for="link-known-error">{{t.knownError}}</label><input id="link-known-error" name="knownError" placeholder="KE-000001">
                <button type="submit" id="link-submit">{{t.link}}</button>
              </form>
              {{#canReview}}
              <form method="post" action="{{base}}/review" id="review-form">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="review-summary">{{t.reviewSummary}}</label><textarea id="review-summary" name="summary" rows="3" required></textarea>
                <label for="review-cause">{{t.rootCause}}</label><input id="review-cause" name="rootCause">
                <label for="review-actions">{{t.reviewActions}}</label><textarea id="review-actions" name="actions" rows="3"></textarea>
                <label for="review-lessons">{{t.lessonsLearned}}</label><input id="review-lessons" name="lessonsLearned">
                <button type="submit" id="review-submit">{{t.recordReview}}</button>
              </form>
              {{/canReview}}
            </section>
            {{/desk}}
            {{#requester}}
            <section class="card actions">
              {{#canConfirm}}
              <form method="post" action="{{base}}/transition" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="to" value="closed"><button type="submit" id="confirm">{{t.confirmResolved}}</button></form>
              <form method="post" action="{{base}}/transition" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="to" value="in_progress"><button type="submit" id="reopen">{{t.reopen}}</button></form>
              {{/canConfirm}}
              {{#canWithdraw}}
              <form method="post" action="{{base}}/transition" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="to" value="cancelled"><button type="submit" id="withdraw">{{t.withdraw}}</button></form>
              {{/canWithdraw}}
            </section>
            {{/requester}}
            <section class="card">
              <h2>{{t.comments}}</h2>
              <ol class="comments" id="comments">
              {{#comments}}<li class="{{visibility}}"><span class="meta">{{author}} · {{at}} · {{label}}</span><p>{{body}}</p></li>{{/comments}}
              </ol>
              {{#canComment}}
              <form method="post" action="{{base}}/comment" id="comment">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="comment-body">{{t.addComment}}</label>
                <textarea id="comment-body" name="body" rows="3" required></textarea>
                {{#desk}}<label for="comment-visibility">{{t.visibility}}</label>
                <select id="comment-visibility" name="visibility"><option value="work_note">{{t.workNote}}</option><option value="customer">{{t.customerComment}}</option></select>{{/desk}}
                <button type="submit" id="comment-submit">{{t.comment}}</button>
              </form>
              {{/canComment}}
            </section>
            {{> history}}
            {{> footer}}
            """,
        "search": """
            {{> header}}
            <section class="card">
              <h1>{{t.searchResults}} “{{query}}”</h1>
              {{#hasKnownErrors}}
              <h2>{{t.knownErrors}}</h2>
              <ol class="hits" id="known-errors">
              {{#knownErrors}}<li>{{#href}}<a href="{{href}}">{{number}}</a>{{/href}}{{^href}}{{number}}{{/href}} {{title}} <span class="meta">{{problem}}</span><p><strong>{{t.workaround}}:</strong> {{workaround}}</p></li>{{/knownErrors}}
              </ol>
              <h2>{{t.records}}</h2>
              {{/hasKnownErrors}}
              {{#hasHits}}
              <ol class="hits" id="hits">
              {{#hits}}<li><a href="{{href}}">{{number}}</a> {{title}} <span class="meta">{{status}} · {{priority}}</span><p>{{{snippet}}}</p></li>{{/hits}}
              </ol>
              {{/hasHits}}
              {{^hasHits}}<p>{{t.nothing}}</p>{{/hasHits}}
            </section>
            {{> footer}}
            """,
        "users": """
            {{> header}}
            <section class="card">
              <h1>{{t.people}}</h1>
              <table id="accounts">
                <thead><tr><th>{{t.name}}</th><th>{{t.displayName}}</th><th>{{t.email}}</th><th>{{t.roles}}</th><th>{{t.source}}</th><th>{{t.state}}</th><th></th></tr></thead>
                <tbody>
                {{#accounts}}
                <tr><td>{{name}}</td><td>{{displayName}}</td><td>{{email}}</td><td>{{roles}}</td><td>{{source}}</td><td>{{state}}</td>
                <td>{{#canWrite}}<form method="post" action="/console/admin/users/{{name}}/{{toggle}}" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit" id="{{toggle}}-{{name}}">{{toggleLabel}}</button></form>{{/canWrite}}</td></tr>
                {{/accounts}}
                </tbody>
              </table>
            </section>
            {{#canWrite}}
            <section class="card">
              <h2>{{t.newAccount}}</h2>
              <form method="post" action="/console/admin/users" id="new-account">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="account-name">{{t.name}}</label><input id="account-name" name="name" required>
                <label for="account-display">{{t.displayName}}</label><input id="account-display" name="displayName">
                <label for="account-email">{{t.email}}</label><input id="account-email" name="email" type="email">
                <fieldset><legend>{{t.roles}}</legend>
                {{#roles}}<label class="check"><input type="checkbox" name="role" value="{{name}}"> {{name}} <span class="meta">{{description}}</span></label>{{/roles}}
                </fieldset>
                <label for="account-password">{{t.password}}</label><input id="account-password" name="password" type="password" autocomplete="new-password">
                <button type="submit" id="account-submit">{{t.create}}</button>
              </form>
            </section>
            <section class="card">
              <h2>{{t.setPassword}}</h2>
              <form method="post" action="/console/admin/users/password" id="set-password">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="password-account">{{t.name}}</label><input id="password-account" name="name" required>
                <label for="password-new">{{t.newPassword}}</label><input id="password-new" name="password" type="password" autocomplete="new-password" required>
                <button type="submit" id="password-submit">{{t.setPassword}}</button>
              </form>
            </section>
            {{/canWrite}}
            {{> footer}}
            """,
        "groups": """
            {{> header}}
            <section class="card">
              <h1>{{t.groups}}</h1>
              <table id="groups">
                <thead><tr><th>{{t.name}}</th><th>{{t.members}}</th><th>{{t.leads}}</th><th>{{t.description}}</th></tr></thead>
                <tbody>{{#groups}}<tr><td>{{name}}</td><td>{{members}}</td><td>{{leads}}</td><td>{{description}}</td></tr>{{/groups}}</tbody>
              </table>
            </section>
            {{#canWrite}}
            <section class="card">
              <h2>{{t.setGroup}}</h2>
              <form method="post" action="/console/admin/groups" id="set-group">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="group-name">{{t.name}}</label><input id="group-name" name="name" required>
                <label for="group-members">{{t.members}} ({{t.commaSeparated}})</label><input id="group-members" name="members">
                <label for="group-leads">{{t.leads}} ({{t.commaSeparated}})</label><input id="group-leads" name="leads">
                <label for="group-description">{{t.description}}</label><input id="group-description" name="description">
                <button type="submit" id="group-submit">{{t.save}}</button>
              </form>
            </section>
            {{/canWrite}}
            {{> footer}}
            """,
        "roles": """
            {{> header}}
            <section class="card">
              <h1>{{t.roleList}}</h1>
              <table id="roles">
                <thead><tr><th>{{t.name}}</th><th>{{t.description}}</th><th>{{t.permissions}}</th><th></th></tr></thead>
                <tbody>{{#roles}}<tr><td>{{name}}</td><td>{{description}}</td><td><code>{{permissions}}</code></td><td>{{#removable}}{{#canWrite}}<form method="post" action="/console/admin/roles/{{name}}/delete" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit" id="delete-role-{{name}}">{{t.remove}}</button></form>{{/canWrite}}{{/removable}}</td></tr>{{/roles}}</tbody>
              </table>
            </section>
            {{#canWrite}}
            <section class="card">
              <h2>{{t.setRole}}</h2>
              <form method="post" action="/console/admin/roles" id="set-role">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="role-name">{{t.name}}</label><input id="role-name" name="name" required>
                <label for="role-description">{{t.description}}</label><input id="role-description" name="description">
                <label for="role-permissions">{{t.permissions}} ({{t.spaceSeparated}})</label><input id="role-permissions" name="permissions" required>
                <button type="submit" id="role-submit">{{t.save}}</button>
              </form>
            </section>
            {{/canWrite}}
            {{> footer}}
            """,
        "tokens": """
            {{> header}}
            {{#issued}}<section class="card"><p class="message notice" id="issued"><strong>{{name}}</strong>: {{t.tokenShownOnce}}</p><pre id="secret">{{secret}}</pre></section>{{/issued}}
            <section class="card">
              <h1>{{t.tokens}}</h1>
              <table id="tokens">
                <thead><tr><th>{{t.name}}</th><th>{{t.owner}}</th><th>{{t.permissions}}</th><th>{{t.created}}</th><th>{{t.lastUsed}}</th><th></th></tr></thead>
                <tbody>{{#tokens}}<tr><td>{{name}}</td><td>{{owner}}</td><td><code>{{permissions}}</code></td><td>{{created}}</td><td>{{lastUsed}}</td><td>{{#canWrite}}<form method="post" action="/console/admin/tokens/{{name}}/revoke" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit" id="revoke-{{name}}">{{t.revoke}}</button></form>{{/canWrite}}</td></tr>{{/tokens}}</tbody>
              </table>
            </section>
            {{#anyRevoked}}
            <section class="card">
              <h2>{{t.revokedTokens}}</h2>
              <table id="revoked-tokens">
                <thead><tr><th>{{t.name}}</th><th>{{t.owner}}</th><th>{{t.permissions}}</th><th>{{t.created}}</th><th>{{t.lastUsed}}</th><th>{{t.revokedAt}}</th></tr></thead>
                <tbody>{{#revokedTokens}}<tr><td>{{name}}</td><td>{{owner}}</td><td><code>{{permissions}}</code></td><td>{{created}}</td><td>{{lastUsed}}</td><td>{{revoked}}</td></tr>{{/revokedTokens}}</tbody>
              </table>
            </section>
            {{/anyRevoked}}
            {{#canWrite}}
            <section class="card">
              <h2>{{t.issueToken}}</h2>
              <form method="post" action="/console/admin/tokens" id="issue-token">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="token-name">{{t.name}}</label><input id="token-name" name="name" required>
                <label for="token-permissions">{{t.permissions}} ({{t.spaceSeparated}})</label><input id="token-permissions" name="permissions" required>
                <button type="submit" id="token-submit">{{t.issueToken}}</button>
              </form>
            </section>
            {{/canWrite}}
            {{> footer}}
            """,
        "dashboard": """
            {{> header}}
            <section class="card">
              <h1>{{t.dashboards}}</h1>
              <p>{{t.dashboardsIntro}}</p>
              <nav class="tabs" aria-label="{{t.period}}">{{#periods}}<a href="?days={{days}}" id="period-{{days}}" {{#chosen}}aria-current="page" class="current"{{/chosen}}>{{days}} {{t.days}}</a> {{/periods}}</nav>
            </section>
            {{#cards}}
            <section class="card" id="stats-{{process}}">
              <h2>{{process}}</h2>
              <p class="help">{{description}}{{#periodic}} · {{t.lastDays}} {{days}} {{t.days}}{{/periodic}}</p>
              {{#error}}<p class="message error">{{error}}</p>{{/error}}
              <ul class="tiles">{{#tiles}}<li><span class="tile-value">{{value}}</span> <span class="tile-label">{{label}}</span></li>{{/tiles}}</ul>
              <div class="charts">{{#charts}}<figure><figcaption>{{title}}</figcaption>{{{svg}}}</figure>{{/charts}}</div>
              {{#tables}}
              <h3>{{title}}</h3>
              <table><thead><tr><th></th>{{#columns}}<th>{{.}}</th>{{/columns}}</tr></thead>
              <tbody>{{#rows}}<tr><th scope="row">{{key}}</th>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/rows}}</tbody></table>
              {{/tables}}
            </section>
            {{/cards}}
            {{^cards}}<section class="card"><p id="no-stats">{{t.noStats}}</p></section>{{/cards}}
            {{> footer}}
            """,
        "objectives": """
            {{> header}}
            <section class="card">
              <h1>{{t.objectives}}</h1>
              <p>{{t.objectivesIntro}}</p>
              <p>{{t.reviewPack}}: {{#packs}}<a href="{{href}}" id="review-pack-{{days}}">{{t.lastDays}} {{days}} {{t.days}}</a> {{/packs}}</p>
            </section>
            {{#objectives}}
            <section class="card objective" id="objective-{{number}}">
              <h2>{{number}} {{title}} <span class="state-{{latest}}">{{latest}}</span></h2>
              <p class="help">{{kpi}} · {{t.objectiveTarget}} {{target}} · {{t.perPeriod}} {{period}} · {{t.owner}} {{owner}}</p>
              {{#error}}<p class="message error">{{error}}</p>{{/error}}
              {{{chart}}}
              <table class="periods">
                <thead><tr><th>{{t.periodFrom}}</th><th>{{t.value}}</th><th>{{t.state}}</th><th>{{t.note}}</th></tr></thead>
                <tbody>{{#periods}}<tr><td>{{from}}</td><td>{{value}}</td><td class="state-{{state}}">{{state}}</td><td>{{note}}</td></tr>{{/periods}}</tbody>
              </table>
            </section>
            {{/objectives}}
            {{^objectives}}<section class="card"><p id="no-objectives">{{t.noObjectives}}</p></section>{{/objectives}}
            {{> footer}}
            """,
        "suppliers": """
            {{> header}}
            <section class="card">
              <h1>{{t.suppliers}}</h1>
              <p>{{t.suppliersIntro}}</p>
              <nav class="tabs" aria-label="{{t.period}}">{{#periods}}<a href="?days={{days}}" id="period-{{days}}" {{#chosen}}aria-current="page" class="current"{{/chosen}}>{{days}} {{t.days}}</a> {{/periods}}</nav>
            </section>
            <section class="card">
              <h2>{{t.scorecards}} · {{t.lastDays}} {{days}} {{t.days}}</h2>
              {{#dataNote}}<p class="message error" id="data-note">{{dataNote}}</p>{{/dataNote}}
              {{#chart}}<figure><figcaption>{{t.withinTargetShare}}</figcaption>{{{chart}}}</figure>{{/chart}}
              <table id="scorecards">
                <thead><tr><th>{{t.supplier}}</th><th>{{t.handoffsResolved}}</th><th>{{t.scored}}</th><th>{{t.withinTargetShare}}</th><th>{{t.breaches}}</th><th>{{t.meanHours}}</th><th>{{t.p90Hours}}</th><th>{{t.stillOpen}}</th></tr></thead>
                <tbody>{{#scorecards}}<tr><td><a href="/console/p/supplier/records/{{supplier}}">{{supplier}}</a> {{name}}</td><td>{{volume}}</td><td>{{scored}}</td><td>{{withinTarget}}</td><td>{{breaches}}</td><td>{{mean}}</td><td>{{p90}}</td><td>{{open}}</td></tr>{{/scorecards}}</tbody>
              </table>
            </section>
            <section class="card">
              <h2>{{t.contractMilestones}}</h2>
              <table id="milestones">
                <thead><tr><th>{{t.noticeDeadline}}</th><th></th><th>{{t.contract}}</th><th>{{t.supplier}}</th><th>{{t.endsOn}}</th></tr></thead>
                <tbody>{{#milestones}}<tr><td>{{noticeDeadline}}</td><td class="{{#passed}}state-missed{{/passed}}">{{#passed}}{{t.passed}} {{days}} {{t.daysAgo}}{{/passed}}{{^passed}}{{t.inDays}} {{days}} {{t.days}}{{/passed}}</td><td>{{contract}}</td><td><a href="/console/p/supplier/records/{{supplier}}">{{supplier}}</a> {{name}}</td><td>{{endsOn}}</td></tr>{{/milestones}}</tbody>
              </table>
              {{^milestones}}<p id="no-milestones">{{t.noMilestones}}</p>{{/milestones}}
            </section>
            {{> footer}}
            """,
        "service-levels": """
            {{> header}}
            <section class="card">
              <h1>{{t.serviceLevels}}</h1>
              <p>{{t.serviceLevelsIntro}}</p>
              <table id="service-levels">
                <thead><tr><th>{{t.service}}</th><th>{{t.priority}}</th><th>{{t.responseTarget}}</th><th>{{t.resolutionTarget}}</th><th>{{t.warningAt}}</th><th>{{t.timeZone}}</th><th>{{t.businessHours}}</th><th>{{t.holidays}}</th></tr></thead>
                <tbody>{{#definitions}}<tr><td>{{service}}</td><td>{{priority}}</td><td>{{response}}</td><td>{{resolution}}</td><td>{{warning}}</td><td>{{timeZone}}</td><td>{{hours}}</td><td>{{holidays}}</td></tr>{{/definitions}}</tbody>
              </table>
              {{^definitions}}<p id="no-service-levels">{{t.noServiceLevels}}</p>{{/definitions}}
            </section>
            {{#canWrite}}
            <section class="card">
              <h2>{{t.setServiceLevel}}</h2>
              <form method="post" action="/console/admin/service-levels" id="set-service-level">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="sla-service">{{t.service}} ({{t.emptyForEveryService}})</label><input id="sla-service" name="service" list="sla-services">
                <datalist id="sla-services">{{#services}}<option value="{{.}}">{{/services}}</datalist>
                <label for="sla-priority">{{t.priority}}</label>
                <select id="sla-priority" name="priority">{{#priorities}}<option value="{{.}}">{{.}}</option>{{/priorities}}</select>
                <label for="sla-response">{{t.responseTarget}} ({{t.minutes}})</label><input id="sla-response" name="responseMinutes" inputmode="numeric" required>
                <label for="sla-resolution">{{t.resolutionTarget}} ({{t.minutes}})</label><input id="sla-resolution" name="resolutionMinutes" inputmode="numeric" required>
                <label for="sla-warning">{{t.warningAt}} (%)</label><input id="sla-warning" name="warningPercent" inputmode="numeric" placeholder="75">
                <label for="sla-time-zone">{{t.timeZone}}</label><input id="sla-time-zone" name="timeZone" value="UTC" placeholder="Europe/Berlin">
                <fieldset>
                  <legend>{{t.businessHours}} ({{t.hoursHelp}})</legend>
                  {{#days}}<label for="sla-{{day}}">{{label}}</label><input id="sla-{{day}}" name="{{day}}" placeholder="08:00-18:00">{{/days}}
                </fieldset>
                <label for="sla-holidays">{{t.holidays}} (YYYY-MM-DD, {{t.commaSeparated}})</label><input id="sla-holidays" name="holidays">
                <button type="submit" id="sla-submit">{{t.save}}</button>
              </form>
            </section>
            {{/canWrite}}
            {{#hasMatrix}}
            <section class="card">
              <h2>{{t.priorityMatrix}}</h2>
              <p>{{t.priorityMatrixHelp}}</p>
              {{^canSetMatrix}}
              <table id="priority-matrix">
                <thead><tr><th>{{t.impact}} ↓ {{t.urgency}} →</th><th>high</th><th>medium</th><th>low</th></tr></thead>
                <tbody>{{#matrix}}<tr><th scope="row">{{impact}}</th>{{#priorities}}<td class="priority">{{.}}</td>{{/priorities}}</tr>{{/matrix}}</tbody>
              </table>
              {{/canSetMatrix}}
              {{#canSetMatrix}}
              <form method="post" action="/console/admin/service-levels/matrix" id="matrix-form">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <table id="priority-matrix">
                  <thead><tr><th>{{t.impact}} ↓ {{t.urgency}} →</th><th>high</th><th>medium</th><th>low</th></tr></thead>
                  <tbody>{{#matrix}}<tr><th scope="row">{{impact}}</th>{{#choices}}<td class="priority"><label for="matrix-{{field}}" class="hidden">{{t.impact}} / {{t.urgency}} {{field}}</label><select id="matrix-{{field}}" name="{{field}}">{{#options}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{value}}</option>{{/options}}</select></td>{{/choices}}</tr>{{/matrix}}</tbody>
                </table>
                <p class="help">{{t.matrixRestarts}}</p>
                <button type="submit" id="matrix-submit">{{t.save}}</button>
              </form>
              {{/canSetMatrix}}
            </section>
            {{/hasMatrix}}
            {{> footer}}
            """,
        "notifications": """
            {{> header}}
            <section class="card">
              <h1>{{t.notifications}}</h1>
              <h2>{{t.rules}}</h2>
              <table id="rules">
                <thead><tr><th>{{t.name}}</th><th>{{t.event}}</th><th>{{t.recipients}}</th><th>{{t.state}}</th><th></th></tr></thead>
                <tbody>{{#rules}}<tr><td>{{name}}</td><td>{{event}}</td><td>{{recipients}}</td><td>{{state}}</td><td>{{#canWrite}}<form method="post" action="/console/notifications/rules/{{name}}/{{toggle}}" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit" id="rule-{{name}}">{{toggleLabel}}</button></form>{{/canWrite}}</td></tr>{{/rules}}</tbody>
              </table>
            </section>
            {{#canWrite}}
            <section class="card">
              <h2>{{t.newRule}}</h2>
              <form method="post" action="/console/notifications/rules" id="new-rule">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="rule-name">{{t.name}}</label><input id="rule-name" name="name" required pattern="[a-z0-9][a-z0-9-]*">
                <label for="rule-event">{{t.event}}</label>
                <select id="rule-event" name="event">{{#events}}<option value="{{.}}">{{.}}</option>{{/events}}</select>
                <label for="rule-recipient">{{t.recipients}}</label>
                <select id="rule-recipient" name="recipient">{{#recipientKinds}}<option value="{{.}}">{{.}}</option>{{/recipientKinds}}</select>
                <label for="rule-value">{{t.recipientValue}}</label><input id="rule-value" name="value">
                <label for="rule-priorities">{{t.onlyPriorities}} ({{t.commaSeparated}})</label><input id="rule-priorities" name="priorities" placeholder="P1, P2">
                <button type="submit" id="rule-submit">{{t.save}}</button>
              </form>
            </section>
            {{/canWrite}}
            <section class="card">
              <h2>{{t.sentLatest}}</h2>
              <table id="deliveries">
                <thead><tr><th>{{t.at}}</th><th>{{t.event}}</th><th>{{t.record}}</th><th>{{t.to}}</th><th>{{t.state}}</th><th>{{t.attempts}}</th><th>{{t.lastError}}</th><th></th></tr></thead>
                <tbody>{{#deliveries}}<tr><td>{{at}}</td><td>{{event}}</td><td>{{#record}}<a href="/console/incidents/{{record}}">{{record}}</a>{{/record}}</td><td>{{recipient}}</td><td class="status-{{status}}">{{status}}</td><td>{{attempts}}</td><td>{{lastError}}</td><td>{{#canRetry}}<form method="post" action="/console/notifications/{{id}}/retry" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit">{{t.sendAgain}}</button></form>{{/canRetry}}</td></tr>{{/deliveries}}</tbody>
              </table>
            </section>
            {{> footer}}
            """,
        "audit": """
            {{> header}}
            <section class="card">
              <h1>{{t.auditLog}}</h1>
              {{#intact}}<p class="message notice" id="chain">{{t.chainIntact}} {{entries}} {{t.entries}} · {{t.head}} <code>{{head}}</code></p>{{/intact}}
              {{#broken}}<p class="message error" id="chain">{{t.chainBroken}} {{seq}}: {{reason}}</p>{{/broken}}
              <form method="get" action="/console/audit" class="row">
                <span><label for="audit-from">{{t.from}}</label><input id="audit-from" name="from" value="{{from}}" placeholder="2026-01-01T00:00:00Z"></span>
                <span><label for="audit-to">{{t.to}}</label><input id="audit-to" name="to" value="{{to}}" placeholder="2026-02-01T00:00:00Z"></span>
                <span><label for="audit-actor">{{t.by}}</label><input id="audit-actor" name="actor" value="{{actor}}" placeholder="user:alice"></span>
                <span><label for="audit-action">{{t.action}}</label><input id="audit-action" name="action" value="{{action}}" placeholder="incident.assign"></span>
                <span><button type="submit">{{t.filter}}</button></span>
              </form>
              <table id="audit">
                <thead><tr><th>#</th><th>{{t.at}}</th><th>{{t.by}}</th><th>{{t.action}}</th><th>{{t.target}}</th><th>{{t.outcome}}</th><th>{{t.client}}</th></tr></thead>
                <tbody>{{#rows}}<tr><td>{{seq}}</td><td>{{at}}</td><td>{{actor}}</td><td>{{action}}</td><td>{{target}}</td><td>{{outcome}}</td><td>{{client}}</td></tr>{{/rows}}</tbody>
              </table>
              {{#next}}<p class="pages"><a href="{{next}}" rel="next">{{t.next}}</a></p>{{/next}}
            </section>
            {{#canExportEvidence}}
            <section class="card">
              <h2>{{t.evidencePack}}</h2>
              <p>{{t.evidenceHelp}}</p>
              <form method="get" action="/api/v1/evidence" class="row" id="evidence">
                <span><label for="evidence-from">{{t.from}}</label><input id="evidence-from" name="from" type="date" required></span>
                <span><label for="evidence-to">{{t.to}}</label><input id="evidence-to" name="to" type="date" required></span>
                <span><button type="submit">{{t.download}}</button></span>
              </form>
            </section>
            {{/canExportEvidence}}
            {{> footer}}
            """,
        "requests": """
            {{> header}}
            <section class="card">
              <h1>{{t.requestCatalogue}}</h1>
              <ul class="catalogue" id="catalogue">
              {{#items}}<li><a href="/console/requests/new/{{name}}" id="item-{{name}}">{{title}}</a> <span class="meta">{{service}}</span>{{#description}}<p>{{description}}</p>{{/description}}</li>{{/items}}
              {{^items}}<li>{{t.nothing}}</li>{{/items}}
              </ul>
            </section>
            {{#lists}}
            <section class="card">
              <h2>{{label}}</h2>
              <table id="{{id}}">
                <thead><tr><th>{{t.number}}</th><th>{{t.title}}</th><th>{{t.requester}}</th><th>{{t.status}}</th><th>{{t.created}}</th></tr></thead>
                <tbody>{{#rows}}<tr><td><a href="/console/requests/{{number}}">{{number}}</a></td><td>{{title}}</td><td>{{requester}}</td><td class="status-{{status}}">{{statusLabel}}</td><td>{{created}}</td></tr>{{/rows}}
                {{^rows}}<tr><td colspan="5">{{t.nothing}}</td></tr>{{/rows}}</tbody>
              </table>
            </section>
            {{/lists}}
            {{#serviceLevels}}
            <section class="card">
              <h2>{{t.customersAndAgreements}}</h2>
              <table id="customers">
                <thead><tr><th>{{t.customerName}}</th><th>{{t.agreementsInForce}}</th><th>{{t.openReviewActions}}</th><th></th></tr></thead>
                <tbody>{{#customers}}<tr><td>{{name}}</td><td>{{agreements}}</td><td>{{openActions}}</td><td><a href="/api/v1/service-reports/{{path}}" id="report-{{path}}">{{t.serviceReport30}}</a></td></tr>{{/customers}}
                {{^customers}}<tr><td colspan="4">{{t.nothing}}</td></tr>{{/customers}}</tbody>
              </table>
            </section>
            {{/serviceLevels}}
            {{> footer}}
            """,
        "request-new": """
            {{> header}}
            <p><a href="/console/requests">{{t.back}}</a></p>
            <section class="card narrow">
              <h1>{{item.title}}</h1>
              {{#item.description}}<p>{{item.description}}</p>{{/item.description}}
              <form method="post" action="/console/requests" id="raise">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <input type="hidden" name="item" value="{{item.name}}">
                {{#fields}}
                <label for="field-{{name}}">{{label}}{{#required}} *{{/required}}</label>
                {{#help}}<p class="help" id="help-{{name}}">{{help}}</p>{{/help}}
                {{#options}}<select id="field-{{name}}" name="{{name}}" {{#required}}required{{/required}}>{{#blank}}<option value=""></option>{{/blank}}{{#choices}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{value}}</option>{{/choices}}</select>{{/options}}
                {{#checkbox}}<input type="checkbox" id="field-{{name}}" name="{{name}}" value="true" {{#checked}}checked{{/checked}}>{{/checkbox}}
                {{#input}}<input id="field-{{name}}" name="{{name}}" type="{{inputType}}" value="{{value}}" {{#step}}step="{{step}}"{{/step}} {{#required}}required{{/required}}>{{/input}}
                {{/fields}}
                {{#forOthers}}<label for="field-requester">{{t.requestFor}}</label><input id="field-requester" name="_requester" placeholder="{{user.name}}">{{/forOthers}}
                <button type="submit" id="raise-submit">{{t.ask}}</button>
              </form>
            </section>
            {{> footer}}
            """,
        "request": """
            {{> header}}
            <p><a href="/console/requests">{{t.back}}</a></p>
            {{#request}}
            <section class="card">
              <h1><span id="number">{{number}}</span> {{title}}</h1>
              <dl class="fields">
                <dt>{{t.status}}</dt><dd id="status">{{statusLabel}}</dd>
                <dt>{{t.requester}}</dt><dd>{{requester}}</dd>
                <dt>{{t.service}}</dt><dd>{{service}}</dd>
                <dt>{{t.created}}</dt><dd>{{created}}</dd>
                <dt>{{t.fulfilment}}</dt><dd id="clock">{{clock}}</dd>
              </dl>
              <h2>{{t.answers}}</h2>
              <dl class="fields" id="answers">{{#answers}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/answers}}</dl>
            </section>
            {{/request}}
            <section class="card">
              <h2>{{t.approvals}}</h2>
              <table id="approvals">
                <thead><tr><th>{{t.level}}</th><th>{{t.approver}}</th><th>{{t.state}}</th><th>{{t.by}}</th><th>{{t.comment}}</th></tr></thead>
                <tbody>{{#approvals}}<tr><td>{{level}}</td><td>{{approver}}</td><td class="status-{{state}}">{{state}}</td><td>{{decidedBy}}</td><td>{{comment}}</td></tr>{{/approvals}}
                {{^approvals}}<tr><td colspan="5">{{t.noApproval}}</td></tr>{{/approvals}}</tbody>
              </table>
              {{#canDecide}}
              <form method="post" action="{{base}}/decide" id="decide">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="decide-comment">{{t.comment}}</label><input id="decide-comment" name="comment">
                <button type="submit" name="decision" value="approve" id="approve">{{t.approve}}</button>
                <button type="submit" name="decision" value="reject" id="reject">{{t.reject}}</button>
              </form>
              {{/canDecide}}
            </section>
            <section class="card">
              <h2>{{t.tasks}}</h2>
              <table id="tasks">
                <thead><tr><th>{{t.task}}</th><th>{{t.group}}</th><th>{{t.state}}</th><th>{{t.assignee}}</th><th>{{t.by}}</th><th>{{t.notes}}</th><th></th></tr></thead>
                <tbody>{{#tasks}}<tr><td>{{name}}</td><td>{{group}}</td><td class="status-{{state}}">{{state}}</td><td>{{assignee}}</td><td>{{doneBy}}</td><td>{{notes}}</td>
                <td>{{#canComplete}}<form method="post" action="{{base}}/complete" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="task" value="{{name}}"><label for="notes-{{id}}" class="hidden">{{t.notes}}</label><input id="notes-{{id}}" name="notes" placeholder="{{t.notes}}"><button type="submit" id="complete-{{id}}">{{t.taskDone}}</button></form>{{/canComplete}}</td></tr>{{/tasks}}</tbody>
              </table>
            </section>
            {{#canCancel}}
            <section class="card actions">
              <form method="post" action="{{base}}/cancel" id="cancel">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <label for="cancel-reason">{{t.reason}}</label><input id="cancel-reason" name="reason" required>
                <button type="submit" id="cancel-submit">{{t.withdraw}}</button>
              </form>
            </section>
            {{/canCancel}}
            {{> history}}
            {{> footer}}
            """,
        "capacity": """
            {{> header}}
            <h1>{{t.capacityPlan}}</h1>
            <form method="get" action="/console/capacity" class="filters">
              <label for="plan-service">{{t.service}}</label><input id="plan-service" name="service" value="{{service}}">
              <button type="submit" id="plan-filter">{{t.filter}}</button>
            </form>
            {{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
            {{#hasItems}}<p class="meta">{{t.planHorizon}} {{horizon}} {{t.days}}</p>{{/hasItems}}
            <div id="plan">
            {{#items}}
            <section class="card" id="metric-{{id}}">
              <h2>{{resource}} · {{metric}} <span class="pill {{state}}">{{state}}</span></h2>
              <dl class="fields">
                {{#service}}<dt>{{t.service}}</dt><dd>{{service}}</dd>{{/service}}
                <dt>{{t.utilization}}</dt><dd class="utilization">{{utilization}}</dd>
                <dt>{{t.peak}}</dt><dd>{{peak}}</dd>
                <dt>{{t.trendPerDay}}</dt><dd>{{trend}}</dd>
                <dt>{{t.headroom}}</dt><dd>{{headroom}}</dd>
                {{#crossings}}<dt>{{label}}</dt><dd>{{at}}</dd>{{/crossings}}
              </dl>
              {{#note}}<p class="meta">{{note}}</p>{{/note}}
              <p class="recommendation">{{recommendation}}</p>
              {{#chart}}<img class="chart" src="{{chart}}" alt="{{t.chartOf}} {{resource}} {{metric}}">{{/chart}}
            </section>
            {{/items}}
            {{^hasItems}}{{^error}}<p>{{t.nothing}}</p>{{/error}}{{/hasItems}}
            </div>
            {{> footer}}
            """,
        "processes": """
            {{> header}}
            <section class="card">
              <h1>{{t.processes}}</h1>
              <p>{{t.processesIntro}}</p>
              <ul class="catalogue" id="processes">
              {{#processes}}<li><a href="/console/p/{{name}}" id="process-{{name}}">{{name}}</a> <span class="meta">{{process}}</span>{{#canCreate}} · <a href="/console/p/{{name}}/new">{{t.newRecord}}</a>{{/canCreate}}<p>{{description}}</p></li>{{/processes}}
              {{^processes}}<li>{{t.nothing}}</li>{{/processes}}
              </ul>
            </section>
            {{> footer}}
            """,
        "process-states": """
            {{> header}}
            <section class="card">
              <h1>{{t.processStates}}</h1>
              <table id="instances">
                <thead><tr><th>{{t.process}}</th><th>{{t.instance}}</th><th>{{t.state}}</th><th>PID</th><th>{{t.restarts}}</th><th>{{t.version}}</th><th>{{t.lastError}}</th><th></th></tr></thead>
                <tbody>{{#instances}}<tr><td>{{name}}</td><td>{{instance}}</td><td class="status-{{state}}">{{state}}</td><td>{{pid}}</td><td>{{restarts}}</td><td>{{version}}</td><td>{{lastError}}</td>
                <td>{{#canRestart}}<form method="post" action="/console/admin/processes/{{name}}/restart" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit" id="restart-{{name}}">{{t.restart}}</button></form>{{/canRestart}}
                {{#canDisable}}<form method="post" action="/console/admin/processes/{{name}}/disable" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit" id="disable-{{name}}">{{t.disable}}</button></form>{{/canDisable}}
                {{#canEnable}}<form method="post" action="/console/admin/processes/{{name}}/enable" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button type="submit" id="enable-{{name}}">{{t.enable}}</button></form>{{/canEnable}}</td></tr>{{/instances}}</tbody>
              </table>
              {{#canWrite}}
              <form method="post" action="/console/admin/processes/reload" id="reload">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <p class="help">{{t.switchHelp}}</p>
                <p class="help">{{t.reloadHelp}}</p>
                <button type="submit" id="reload-submit">{{t.reloadConfiguration}}</button>
              </form>
              {{/canWrite}}
            </section>
            {{> footer}}
            """,
        "process-list": """
            {{> header}}
            <p><a href="/console/processes">{{t.processes}}</a></p>
            <section class="card">
              <h1>{{process}}</h1>
              {{#canCreate}}<p><a href="/console/p/{{process}}/new" id="new-record">{{t.newRecord}}</a></p>{{/canCreate}}
              {{#hasFilters}}
              <form method="get" action="/console/p/{{process}}" class="filters" id="filters">
                {{#filters}}<label for="filter-{{name}}">{{name}}</label>
                <select id="filter-{{name}}" name="{{name}}"><option value=""></option>{{#choices}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{value}}</option>{{/choices}}</select>{{/filters}}
                <button type="submit" id="filter-submit">{{t.filter}}</button>
              </form>
              {{/hasFilters}}
              <table id="records">
                <thead><tr>{{#columns}}<th>{{.}}</th>{{/columns}}</tr></thead>
                <tbody>{{#rows}}<tr><td>{{#linked}}<a href="/console/p/{{process}}/records/{{key}}">{{first}}</a>{{/linked}}{{^linked}}{{first}}{{/linked}}</td>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/rows}}
                {{^rows}}<tr><td>{{t.nothing}}</td></tr>{{/rows}}</tbody>
              </table>
              <p class="pages">{{#first}}<a href="{{first}}" id="first-page">{{t.firstPage}}</a>{{/first}}{{#previous}}<a href="{{previous}}">{{t.previous}}</a>{{/previous}} {{#next}}<a href="{{next}}" id="next-page" rel="next">{{t.next}}</a>{{/next}}</p>
            </section>
            {{> footer}}
            """,
        "process-new": """
            {{> header}}
            <p><a href="/console/p/{{process}}">{{process}}</a></p>
            <section class="card narrow">
              <h1>{{title}}</h1>
              <form method="post" action="/console/p/{{process}}" id="create">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                {{#fields}}
                <label for="field-{{name}}">{{label}}{{#required}} *{{/required}}</label>
                {{#help}}<p class="help">{{help}}</p>{{/help}}
                {{#options}}<select id="field-{{name}}" name="{{name}}" {{#required}}required{{/required}}>{{#blank}}<option value=""></option>{{/blank}}{{#choices}}<option value="{{value}}">{{value}}</option>{{/choices}}</select>{{/options}}
                {{#checkbox}}<input type="checkbox" id="field-{{name}}" name="{{name}}" value="true">{{/checkbox}}
                {{#input}}<input id="field-{{name}}" name="{{name}}" type="{{inputType}}" {{#step}}step="{{step}}"{{/step}} {{#required}}required{{/required}}>{{/input}}
                {{#json}}<textarea id="field-{{name}}" name="{{name}}" rows="3" placeholder="JSON" {{#required}}required{{/required}}></textarea>{{/json}}
                {{/fields}}
                <button type="submit" id="create-submit">{{t.save}}</button>
              </form>
            </section>
            {{> footer}}
            """,
        "process-record": """
            {{> header}}
            <p><a href="/console/p/{{process}}">{{process}}</a></p>
            <section class="card">
              <h1 id="record-key">{{key}}</h1>
              <dl class="fields" id="record">{{#fields}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/fields}}</dl>
            </section>
            {{#sections}}
            <section class="card">
              <h2>{{title}}</h2>
              {{#isRecord}}<dl class="fields">{{#fields}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/fields}}</dl>{{/isRecord}}
              {{#isTable}}<table><thead><tr>{{#columns}}<th>{{.}}</th>{{/columns}}</tr></thead>
              <tbody>{{#rows}}<tr>{{#cells}}<td>{{.}}</td>{{/cells}}</tr>{{/rows}}</tbody></table>{{/isTable}}
            </section>
            {{/sections}}
            {{#actions}}
            <section class="card actions">
              <form method="post" action="/console/p/{{process}}/records/{{path}}/{{verb}}" id="action-{{verb}}">
                <input type="hidden" name="_csrf" value="{{csrf}}">
                <p class="help">{{description}}</p>
                {{#fields}}
                <label for="field-{{id}}">{{label}}{{#required}} *{{/required}}</label>
                {{#options}}<select id="field-{{id}}" name="{{name}}" {{#required}}required{{/required}}>{{#blank}}<option value=""></option>{{/blank}}{{#choices}}<option value="{{value}}">{{value}}</option>{{/choices}}</select>{{/options}}
                {{#checkbox}}<input type="checkbox" id="field-{{id}}" name="{{name}}" value="true">{{/checkbox}}
                {{#input}}<input id="field-{{id}}" name="{{name}}" type="{{inputType}}" {{#step}}step="{{step}}"{{/step}} {{#required}}required{{/required}}>{{/input}}
                {{#json}}<textarea id="field-{{id}}" name="{{name}}" rows="2" placeholder="JSON" {{#required}}required{{/required}}></textarea>{{/json}}
                {{/fields}}
                <button type="submit" id="action-{{verb}}-submit">{{label}}</button>
              </form>
            </section>
            {{/actions}}
            {{> footer}}
            """,
        "message": """
            {{> header}}
            <section class="card narrow"><h1>{{title}}</h1><p id="message">{{message}}</p><p><a href="/console/">{{t.back}}</a></p></section>
            {{> footer}}
            """,
    ]

    /// Hand-written, small, readable with no build step: contrast AA, visible focus.
    /// The console's only script: live updates (what the page shows changed since it opened,
    /// `data-live`), editing a detail in place (`data-edit`) and keyboard shortcuts. Everything
    /// works without it.
    static let script = """
        (function () {
          // The header's menus: one open at a time, closed by a click elsewhere or Escape.
          var menus = document.querySelectorAll("details.menu");
          document.addEventListener("click", function (event) {
            Array.prototype.forEach.call(menus, function (menu) {
              if (!menu.contains(event.target)) menu.open = false;
            });
          });
          document.addEventListener("keydown", function (event) {
            if (event.key !== "Escape") return;
            Array.prototype.forEach.call(menus, function (menu) { menu.open = false; });
          });
          // Service level clocks count down: the due time, then how long is left or how long ago it passed.
          var clocks = document.querySelectorAll("time[data-countdown]");
          function span(ms) {
            var minutes = Math.floor(Math.abs(ms) / 60000), hours = Math.floor(minutes / 60), days = Math.floor(hours / 24);
            if (days > 0) return days + " d " + (hours % 24) + " h";
            if (hours > 0) return hours + " h " + (minutes % 60) + " min";
            return minutes + " min";
          }
          function countDown() {
            Array.prototype.forEach.call(clocks, function (clock) {
              if (!clock.dataset.shown) clock.dataset.shown = clock.textContent;
              var left = Date.parse(clock.getAttribute("datetime")) - Date.now();
              if (isNaN(left)) return;
              clock.textContent = clock.dataset.shown + " (" + (left >= 0 ? span(left) + " " + clock.dataset.left : clock.dataset.overdue + " " + span(left)) + ")";
              clock.parentNode.classList.toggle("overdue", left < 0);
            });
          }
          if (clocks.length) { countDown(); setInterval(countDown, 30000); }
          var notice = document.getElementById("live-notice");
          if (notice && window.EventSource) {
            var source = new EventSource("/console/live?" + notice.getAttribute("data-live"));
            source.addEventListener("changed", function () { notice.hidden = false; });
          }
          // Inline edits: a detail marked data-edit (with its field in the page's edit form)
          // becomes that field when clicked or entered; Enter or a new choice saves it through
          // the form, as a person would by hand; Escape puts it back unchanged.
          Array.prototype.forEach.call(document.querySelectorAll("[data-edit]"), function (shown) {
            var field = document.getElementById(shown.getAttribute("data-edit"));
            if (!field || !field.form) return;
            shown.classList.add("editable");
            shown.tabIndex = 0;
            shown.title = "Click to edit";
            function open() {
              if (shown.querySelector("input, select, textarea")) return;
              var original = shown.innerHTML;
              var editor = field.cloneNode(true);
              editor.removeAttribute("id");
              editor.removeAttribute("name");
              editor.setAttribute("aria-label", field.labels && field.labels[0] ? field.labels[0].textContent : field.name);
              editor.className = "inline-editor";
              shown.innerHTML = "";
              shown.appendChild(editor);
              editor.focus();
              function save() {
                field.value = editor.value;
                field.form.submit();
              }
              editor.addEventListener("keydown", function (event) {
                if (event.key === "Escape") {
                  event.stopPropagation();
                  shown.innerHTML = original;
                  shown.focus();
                } else if (event.key === "Enter" && editor.tagName !== "TEXTAREA") {
                  event.preventDefault();
                  save();
                } else if (event.key === "Enter" && event.ctrlKey) {
                  save();
                }
              });
              if (editor.tagName === "SELECT") editor.addEventListener("change", save);
            }
            shown.addEventListener("click", open);
            shown.addEventListener("keydown", function (event) {
              if (event.key === "Enter" && event.target === shown) { event.preventDefault(); open(); }
            });
          });
          // Keys: / search, c comment, g then q queues, r requests, p processes, ? this list.
          var pending = null;
          var places = { q: "/console/", r: "/console/requests", p: "/console/processes" };
          document.addEventListener("keydown", function (event) {
            var target = event.target;
            if (event.ctrlKey || event.metaKey || event.altKey) return;
            if (target && (/^(INPUT|TEXTAREA|SELECT)$/).test(target.tagName)) {
              if (event.key === "Escape") target.blur();
              return;
            }
            if (pending === "g" && places[event.key]) {
              pending = null;
              window.location.assign(places[event.key]);
              event.preventDefault();
              return;
            }
            pending = null;
            var focus = { "/": "search-query", c: "comment-body" }[event.key];
            if (focus && document.getElementById(focus)) {
              document.getElementById(focus).focus();
              event.preventDefault();
            } else if (event.key === "g") {
              pending = "g";
            } else if (event.key === "?") {
              var help = document.getElementById("shortcuts");
              if (help) help.hidden = !help.hidden;
            }
          });
        })();

        """

    static let style = """
        :root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad; --bad: #a40e26; --good: #1a7f37; --bg: #f6f8fa; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--ink); background: var(--bg); }
        .bar { display: flex; gap: 1rem; align-items: center; padding: .5rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
        .brand { font-weight: 700; color: var(--ink); text-decoration: none; margin-right: auto; }
        main { max-width: 72rem; margin: 1rem auto; padding: 0 1rem; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin-bottom: 1rem; }
        .narrow { max-width: 24rem; margin: 3rem auto; }
        label { display: block; margin-top: .5rem; font-weight: 600; }
        input, select, textarea, button { font: inherit; padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 4px; }
        input, textarea { width: 100%; }
        button { margin-top: .75rem; background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
        :focus-visible { outline: 3px solid #f0b429; outline-offset: 1px; }
        .inline { display: inline; }
        .tiles { display: flex; flex-wrap: wrap; gap: .75rem; list-style: none; padding: 0; }
        .tiles li { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .75rem; min-width: 9rem; }
        .tile-value { display: block; font-size: 1.6rem; font-weight: 700; }
        .tile-label { color: var(--muted); }
        .charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
        .charts figure { margin: 0; }
        .charts figcaption { font-weight: 600; }
        .chart { max-width: 100%; height: auto; }
        .chart .bar { fill: var(--accent); }
        .chart-label, .chart-value { font: 12px system-ui, sans-serif; fill: var(--ink); }
        .tabs a.current { font-weight: 700; text-decoration: none; }
        .chart .column.met { fill: var(--good); }
        .chart .column.missed { fill: var(--bad); }
        .chart .column.unjudged { fill: var(--muted); }
        .chart .target { stroke: var(--ink); stroke-width: 1.5; stroke-dasharray: 4 3; }
        .state-met { color: var(--good); font-weight: 600; }
        .state-missed { color: var(--bad); font-weight: 600; }
        .editable { cursor: text; border-bottom: 1px dashed var(--line); }
        .editable:hover { background: #eef4fb; }
        .inline-editor { width: auto; min-width: 12rem; }
        .search input { width: 16rem; }
        .sections { display: flex; gap: .75rem; align-items: center; }
        .menu { position: relative; }
        .menu summary { cursor: pointer; color: var(--accent); }
        .menu-items { position: absolute; z-index: 10; top: 1.6rem; left: 0; min-width: 12rem; display: flex; flex-direction: column;
                      gap: .35rem; padding: .5rem .75rem; background: #fff; border: 1px solid var(--line); border-radius: 4px;
                      box-shadow: 0 2px 8px rgba(0,0,0,.15); }
        .check { font-weight: normal; }
        .check input { width: auto; }
        fieldset { border: 1px solid var(--line); border-radius: 4px; margin-top: .75rem; }
        code { font-size: .85em; word-break: break-all; }
        .shortcuts { position: fixed; right: 1rem; bottom: 1rem; max-width: 20rem; box-shadow: 0 2px 8px rgba(0,0,0,.2); }
        .shortcuts dl { display: grid; grid-template-columns: auto 1fr; gap: .2rem .8rem; margin: 0; }
        .shortcuts dt { font-family: monospace; font-weight: bold; }
        .help { color: #555; font-size: .9em; margin: .1rem 0 .3rem; }
        .catalogue li { margin: .5rem 0; }
        .catalogue p { margin: .2rem 0; color: #555; }
        .hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
        mark { background: #fff8c5; }
        .hits li { margin-bottom: .75rem; }
        .row { display: flex; gap: 1rem; }
        table { width: 100%; border-collapse: collapse; }
        th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        .tabs a { display: inline-block; padding: .25rem .75rem; margin-right: .25rem; border-radius: 4px; color: var(--accent); }
        .tabs a[aria-current] { background: var(--accent); color: #fff; }
        .pill { padding: 0 .4rem; border-radius: 3px; background: var(--line); }
        .pill.P1, .pill.P2 { background: var(--bad); color: #fff; }
        .message { padding: .5rem .75rem; border-radius: 4px; }
        .error { background: #ffebe9; color: var(--bad); }
        .notice { background: #dafbe1; color: var(--good); }
        .major { background: #ffebe9; color: var(--bad); border-left: 4px solid var(--bad); padding: .5rem .75rem; }
        .fields { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
        .fields dt { color: var(--muted); }
        .comments { list-style: none; padding: 0; }
        .comments li { border-left: 4px solid var(--line); padding-left: .75rem; margin-bottom: .75rem; }
        .comments li.work_note { border-color: #bf8700; }
        .meta { color: var(--muted); font-size: .9em; }
        .actions form { margin-bottom: 1rem; }
        .clocks .breached, .clocks .overdue { color: var(--bad); font-weight: 600; }
        @media (max-width: 40rem) { .row { flex-direction: column; } th:nth-child(n+5), td:nth-child(n+5) { display: none; } }
        """
}
