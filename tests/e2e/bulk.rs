//! R-INV-5, R-MAIL-3: CSV imports as long-running operations, and the
//! member export.

use std::time::{Duration, Instant};

use allot::ServiceKind;
use allot_platform::testing::Backend;
use allot_proto::common as cpb;
use allot_proto::team as tpb;
use prost::Message;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::entitlement::Shop;
use crate::harness::{ADMIN_EMAIL, Clients, Env, Person, unique_email};

async fn import(
    c: &Clients,
    team: &str,
    csv: &str,
    validate_only: bool,
) -> Result<cpb::Operation, tonic::Status> {
    c.team
        .clone()
        .import_members(tpb::ImportMembersRequest {
            parent: team.into(),
            csv: csv.as_bytes().to_vec(),
            validate_only,
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Follows the operation over WatchOperation until it is done; returns
/// the progress seen and the result.
async fn wait_done(c: &Clients, op: &cpb::Operation) -> (Vec<i32>, tpb::ImportMembersResponse) {
    let mut stream = c
        .team
        .clone()
        .watch_operation(tpb::WatchOperationRequest {
            name: op.name.clone(),
        })
        .await
        .expect("watch operation")
        .into_inner();
    let mut progress = Vec::new();
    loop {
        // Per step: a 100,000-row file takes a while in a debug build.
        let op = tokio::time::timeout(Duration::from_secs(600), stream.next())
            .await
            .expect("the operation moves on")
            .expect("the stream stays open until done")
            .expect("no error");
        let meta = tpb::ImportMembersMetadata::decode(
            op.metadata.as_ref().expect("metadata").value.as_slice(),
        )
        .expect("metadata decodes");
        progress.push(meta.processed_rows);
        if op.done {
            return (progress, response_of(&op));
        }
    }
}

fn response_of(op: &cpb::Operation) -> tpb::ImportMembersResponse {
    match &op.result {
        Some(cpb::operation::Result::Response(r)) => {
            tpb::ImportMembersResponse::decode(r.value.as_slice()).expect("response decodes")
        }
        other => panic!("the operation did not succeed: {other:?}"),
    }
}

async fn member_emails(c: &Clients, team: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let r = c
            .team
            .clone()
            .list_members(tpb::ListMembersRequest {
                parent: team.into(),
                page_size: 1000,
                page_token: token,
                guests: tpb::GuestFilter::Include as i32,
                ..Default::default()
            })
            .await
            .expect("list members")
            .into_inner();
        out.extend(r.members.into_iter().map(|m| m.email.to_lowercase()));
        if r.next_page_token.is_empty() {
            return out;
        }
        token = r.next_page_token;
    }
}

/// R-INV-5, R-MAIL-3: a file with a byte-order mark, CRLF, quoted fields,
/// its own column order, good and bad rows; each row gets its outcome with
/// its line; the admin gets the summary by email; the same file again
/// creates nothing twice.
async fn r_inv_5_mixed_rows_and_the_same_file_twice(backend: Backend) {
    let env = Env::in_process(backend).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let known = env.person("Kim").await;
    let (a, b, c) = (
        unique_email("imp.a"),
        unique_email("imp.b"),
        unique_email("imp.c"),
    );
    let csv = format!(
        "\u{feff}Last Name,Email,First Name\r\n\"Lovelace, Countess\",{a},Ada\r\nHopper,{b},\"Grace\"\r\n,not-an-address,Bad\r\n,{},\r\nLiskov,{c},Barbara\r\n",
        known.email
    );
    let op = import(&admin, &team, &csv, false)
        .await
        .expect("import starts");
    assert!(op.name.starts_with("operations/"));
    let (progress, first) = wait_done(&admin, &op).await;
    assert_eq!(*progress.last().expect("progress"), 5);
    assert_eq!(
        (
            first.invited,
            first.added,
            first.already_member,
            first.invalid
        ),
        (3, 0, 1, 1)
    );
    let by_line: Vec<(i32, i32)> = first.rows.iter().map(|r| (r.line, r.outcome)).collect();
    assert_eq!(
        by_line,
        vec![
            (2, tpb::AddMemberOutcome::Invited as i32),
            (3, tpb::AddMemberOutcome::Invited as i32),
            (4, tpb::AddMemberOutcome::Invalid as i32),
            (5, tpb::AddMemberOutcome::AlreadyMember as i32),
            (6, tpb::AddMemberOutcome::Invited as i32),
        ]
    );
    assert!(
        first.rows[2].message.contains("email"),
        "{}",
        first.rows[2].message
    );
    let members = member_emails(&admin, &team).await;
    for e in [&a, &b, &c] {
        assert!(members.contains(&e.to_lowercase()), "{e} is a member");
    }
    let ada = env.mail_to(&a, 1).await;
    assert!(ada[0].decoded().contains("Ada"));
    // R-MAIL-3: the summary reaches whoever started it.
    let done = env.mail_with_subject(ADMIN_EMAIL, "import", 1).await;
    let text = done[0].decoded();
    assert!(text.contains("3 invited"), "{text}");
    assert!(text.contains("line 4"), "{text}");

    let again = import(&admin, &team, &csv, false).await.expect("again");
    let (_, second) = wait_done(&admin, &again).await;
    assert_eq!(
        (
            second.invited,
            second.added,
            second.already_member,
            second.invalid
        ),
        (0, 0, 4, 1),
        "the same file creates nothing twice"
    );
    assert_eq!(member_emails(&admin, &team).await.len(), members.len());
    env.settled().await;
    assert_eq!(env.smtp.messages_to(&a).len(), 1, "no second invitation");
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_5_mixed_rows_and_the_same_file_twice);

/// R-INV-5: a dry run says what would happen and changes nothing.
async fn r_inv_5_validate_only_changes_nothing(backend: Backend) {
    let env = Env::in_process(backend).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let fresh = unique_email("dry");
    let before = member_emails(&admin, &team).await;
    let csv = format!("email\n{fresh}\nnope\n{ADMIN_EMAIL}\n");
    let op = import(&admin, &team, &csv, true).await.expect("dry run");
    let (_, r) = wait_done(&admin, &op).await;
    let outcomes: Vec<i32> = r.rows.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            tpb::AddMemberOutcome::Added as i32,
            tpb::AddMemberOutcome::Invalid as i32,
            tpb::AddMemberOutcome::AlreadyMember as i32,
        ]
    );
    assert_eq!(member_emails(&admin, &team).await, before);
    env.settled().await;
    assert!(env.smtp.messages_to(&fresh).is_empty());
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_5_validate_only_changes_nothing);

/// R-INV-5: every row of an import is read from the operation in file
/// order, a page at a time, by those who may see the operation only.
async fn r_inv_5_an_imports_rows_are_read_in_pages(backend: Backend) {
    let env = Env::in_process(backend).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let csv = format!("email\n{}\nnope\n{ADMIN_EMAIL}\n", unique_email("paged"));
    let op = import(&admin, &team, &csv, true).await.expect("dry run");
    wait_done(&admin, &op).await;
    let page = |token: String| {
        let (mut c, name) = (admin.clone(), op.name.clone());
        async move {
            c.team
                .list_import_rows(tpb::ListImportRowsRequest {
                    name,
                    page_size: 2,
                    page_token: token,
                })
                .await
                .expect("rows")
                .into_inner()
        }
    };
    let first = page(String::new()).await;
    assert_eq!(
        first.rows.iter().map(|r| r.line).collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(!first.next_page_token.is_empty(), "a second page");
    let second = page(first.next_page_token).await;
    assert_eq!(second.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [4]);
    assert_eq!(
        second.rows[0].outcome,
        tpb::AddMemberOutcome::AlreadyMember as i32
    );
    assert!(second.next_page_token.is_empty(), "the last page");
    let stranger = env.person("Stu").await;
    let err = stranger
        .clients
        .team
        .clone()
        .list_import_rows(tpb::ListImportRowsRequest {
            name: op.name.clone(),
            ..Default::default()
        })
        .await
        .expect_err("not the stranger's operation");
    assert_eq!(err.code(), Code::PermissionDenied, "{}", err.message());
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_5_an_imports_rows_are_read_in_pages);

/// R-INV-5 bad input: refused whole with INVALID_ARGUMENT naming the
/// problem, before anything is written; only admins import.
async fn r_inv_5_bad_files_are_refused_before_anything_is_written(backend: Backend) {
    let env = Env::in_process_with(backend, |c| c.import.max_rows = 3).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let cases: [(&[u8], &str); 4] = [
        (b"name,phone\nAda,1\n", "no email column"),
        (b"email\nb\xe9a@example.com\n", "not UTF-8"),
        (
            b"email\na@x.io\nb@x.io\nc@x.io\nd@x.io\n",
            "more than 3 rows",
        ),
        (b"PK\x03\x04\x00\x00\x08\x00", "not CSV"),
    ];
    for (file, says) in cases {
        let err = admin
            .team
            .clone()
            .import_members(tpb::ImportMembersRequest {
                parent: team.clone(),
                csv: file.to_vec(),
                validate_only: false,
                ..Default::default()
            })
            .await
            .expect_err("refused");
        assert_eq!(err.code(), Code::InvalidArgument, "{says}: {err:?}");
        assert!(err.message().contains(says), "{says}: {}", err.message());
    }
    let ops = admin
        .team
        .clone()
        .list_operations(tpb::ListOperationsRequest {
            parent: team.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .operations;
    assert!(ops.is_empty(), "nothing was written");
    let member = env.person("Max").await;
    let err = import(&member.clients, &team, "email\nx@example.com\n", false)
        .await
        .expect_err("members do not import");
    assert_eq!(err.code(), Code::PermissionDenied);
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_5_bad_files_are_refused_before_anything_is_written);

/// R-INV-5: team's process killed in the middle of a job; started again,
/// it finishes the job, every row once, nobody twice.
async fn r_inv_5_a_job_survives_a_restart(backend: Backend) {
    // Several batches of 1,000, so the kill lands between two of them.
    const ROWS: usize = 4000;
    let mut env = Env::processes(backend, &[]).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let before = member_emails(&admin, &team).await.len();
    let tag = allot_platform::ids::new_id();
    let mut csv = String::from("first name,last name,email\n");
    for i in 0..ROWS {
        csv.push_str(&format!("P{i},Row,p{i}.{tag}@example.com\n"));
    }
    let op = import(&admin, &team, &csv, false).await.expect("import");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = admin
            .team
            .clone()
            .get_operation(tpb::GetOperationRequest {
                name: op.name.clone(),
            })
            .await
            .expect("get")
            .into_inner();
        let meta = tpb::ImportMembersMetadata::decode(
            now.metadata.as_ref().expect("metadata").value.as_slice(),
        )
        .expect("metadata");
        assert!(!now.done, "the job finished before it could be interrupted");
        if meta.processed_rows > 0 {
            break;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    env.kill(ServiceKind::Team);
    env.restart(ServiceKind::Team).await;
    let (_, r) = wait_done(&admin, &op).await;
    assert_eq!(r.invited as usize, ROWS, "every row invited once");
    assert_eq!(r.rows.len(), ROWS);
    let lines: std::collections::HashSet<i32> = r.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines.len(), ROWS, "one outcome per line");
    let members = member_emails(&admin, &team).await;
    assert_eq!(members.len(), before + ROWS, "nobody twice");
    env.shutdown().await;
}
crate::on_both_backends!(r_inv_5_a_job_survives_a_restart);

/// The whole file `ExportMembers` streams.
async fn export_users(c: &Clients, team: &str, include_products: bool) -> Vec<u8> {
    let mut stream = c
        .team
        .clone()
        .export_members(tpb::ExportMembersRequest {
            parent: team.into(),
            include_products,
            ..Default::default()
        })
        .await
        .expect("export users")
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        bytes.extend(chunk.expect("chunk").chunk);
    }
    bytes
}

/// The export neutralises cells a spreadsheet would run as formulas.
async fn members_export_is_safe_to_open(backend: Backend) {
    let env = Env::in_process(backend).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let email = unique_email("formula");
    admin
        .team
        .add_member(tpb::AddMemberRequest {
            parent: team.clone(),
            who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                given_name: "=HYPERLINK(\"http://evil\",\"x\")".into(),
                family_name: "+cmd|' /C calc'!A0".into(),
                email: email.clone(),
            })),
            ..Default::default()
        })
        .await
        .expect("add");
    let bytes = export_users(&admin, &team, false).await;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(&headers[0], "email");
    let row = reader
        .records()
        .map(|r| r.expect("record"))
        .find(|r| r[0].eq_ignore_ascii_case(&email))
        .expect("the member is exported");
    assert_eq!(&row[1], "'=HYPERLINK(\"http://evil\",\"x\")");
    assert_eq!(&row[2], "'+cmd|' /C calc'!A0");
    for record in csv::Reader::from_reader(bytes.as_slice()).records() {
        for cell in record.expect("record").iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} would run as a formula"
            );
        }
    }
    env.shutdown().await;
}
crate::on_both_backends!(members_export_is_safe_to_open);

fn today() -> cpb::Date {
    let now = time::OffsetDateTime::now_utc().date();
    cpb::Date {
        year: now.year(),
        month: i32::from(u8::from(now.month())),
        day: i32::from(now.day()),
    }
}

fn days_before(d: &cpb::Date, n: i64) -> cpb::Date {
    let month = time::Month::try_from(u8::try_from(d.month).expect("month")).expect("month");
    let date = time::Date::from_calendar_date(d.year, month, u8::try_from(d.day).expect("day"))
        .expect("date")
        - time::Duration::days(n);
    cpb::Date {
        year: date.year(),
        month: i32::from(u8::from(date.month())),
        day: i32::from(date.day()),
    }
}

async fn launch(c: &Clients, product: &str) {
    let r = c
        .entitlement
        .clone()
        .check_entitlement(allot_proto::entitlement::CheckEntitlementRequest {
            account: String::new(),
            product: format!("products/{product}"),
            record_usage: true,
        })
        .await
        .expect("check")
        .into_inner();
    assert!(r.allowed);
}

/// A team with cad (4 seats) and cam (2): Ann holds both and launched cad
/// three times and cam once today, Bob holds cad and launched it once.
async fn launched_cad_and_cam(backend: Backend) -> (Shop, String, Person, Person) {
    use crate::entitlement::assign;
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("cam").await;
    let team = shop.sign_in(&[("cad", 4), ("cam", 2)]).await.team;
    let owner = shop.owner.clients.clone();
    let ann = shop.member(&owner, &team, "Ann").await;
    let bob = shop.member(&owner, &team, "Bob").await;
    for p in [&ann, &bob] {
        assign(&owner, &team, &p.account, "cad", &[])
            .await
            .expect("assign");
    }
    assign(&owner, &team, &ann.account, "cam", &[])
        .await
        .expect("assign");
    // Ann launches cad three times and cam once, Bob cad once.
    for _ in 0..3 {
        launch(&ann.clients, "cad").await;
    }
    launch(&ann.clients, "cam").await;
    launch(&bob.clients, "cad").await;
    (shop, team, ann, bob)
}

/// R-USE-2: per product and day, seats, assigned and distinct users who
/// launched, over gRPC and as CSV, for a range with known launches; users
/// see no report.
async fn r_use_2_usage_report_over_a_range(backend: Backend) {
    use allot_proto::entitlement as epb;
    let (shop, team, ann, _bob) = launched_cad_and_cam(backend).await;
    let owner = shop.owner.clients.clone();
    let (start, end) = (days_before(&today(), 2), today());
    let report = owner
        .entitlement
        .clone()
        .get_usage_report(epb::GetUsageReportRequest {
            parent: team.clone(),
            start_date: Some(start),
            end_date: Some(end),
        })
        .await
        .expect("report")
        .into_inner();
    let row = |product: &str, date: &cpb::Date| {
        report
            .rows
            .iter()
            .find(|r| r.product == format!("products/{product}") && r.date.as_ref() == Some(date))
            .cloned()
    };
    let cad = row("cad", &end).expect("today's cad row");
    assert_eq!((cad.seats, cad.assigned, cad.users), (4, 3, 2));
    let cam = row("cam", &end).expect("today's cam row");
    assert_eq!((cam.seats, cam.assigned, cam.users), (2, 2, 1));
    for r in &report.rows {
        let d = r.date.as_ref().expect("date");
        assert!(*d != end || r.users > 0, "launches only today");
        if *d != end {
            assert_eq!(r.users, 0, "nobody launched before today: {r:?}");
        }
    }
    // The same figures as CSV.
    let mut stream = owner
        .entitlement
        .clone()
        .export_usage_report(epb::ExportUsageReportRequest {
            parent: team.clone(),
            start_date: Some(start),
            end_date: Some(end),
        })
        .await
        .expect("export")
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(c) = stream.next().await {
        bytes.extend(c.expect("chunk").chunk);
    }
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(
        text.starts_with("date,product,seats,assigned,users\n"),
        "{text}"
    );
    let day = format!("{:04}-{:02}-{:02}", end.year, end.month, end.day);
    assert!(text.contains(&format!("{day},cad,4,3,2\n")), "{text}");
    assert!(text.contains(&format!("{day},cam,2,2,1\n")), "{text}");
    assert_eq!(text.lines().count(), report.rows.len() + 1);
    // Users see no report.
    let err = ann
        .clients
        .entitlement
        .clone()
        .get_usage_report(epb::GetUsageReportRequest {
            parent: team.clone(),
            start_date: Some(end),
            end_date: Some(end),
        })
        .await
        .expect_err("users see no report");
    assert_eq!(err.code(), Code::PermissionDenied);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_use_2_usage_report_over_a_range);

/// R-USE-3: the user list exports with each person's products and last
/// use.
async fn r_use_3_the_user_export_carries_products_and_last_use(backend: Backend) {
    let (shop, team, ann, _bob) = launched_cad_and_cam(backend).await;
    let owner = shop.owner.clients.clone();
    let end = today();
    let bytes = export_users(&owner, &team, true).await;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(&headers[7], "products");
    assert_eq!(&headers[8], "last used");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let of = |email: &str| {
        records
            .iter()
            .find(|r| r[0].eq_ignore_ascii_case(email))
            .cloned()
            .expect("exported")
    };
    let ann_row = of(&ann.email);
    assert_eq!(&ann_row[7], "cad;cam");
    let today_text = format!("{:04}-{:02}-{:02}T", end.year, end.month, end.day);
    assert!(
        ann_row[8].starts_with(&format!("cad {today_text}")),
        "{:?}",
        &ann_row[8]
    );
    assert!(
        ann_row[8].contains(&format!(";cam {today_text}")),
        "{:?}",
        &ann_row[8]
    );
    let owner_row = of(&shop.owner.email);
    assert_eq!(&owner_row[7], "cad;cam");
    assert_eq!(&owner_row[8], "cad never;cam never");
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_use_3_the_user_export_carries_products_and_last_use);

async fn import_assignments(
    c: &Clients,
    team: &str,
    csv: &str,
) -> allot_proto::entitlement::ImportAssignmentsResponse {
    use allot_proto::entitlement as epb;
    let op = c
        .entitlement
        .clone()
        .import_assignments(epb::ImportAssignmentsRequest {
            parent: team.into(),
            csv: csv.as_bytes().to_vec(),
            validate_only: false,
            ..Default::default()
        })
        .await
        .expect("import starts")
        .into_inner();
    let mut stream = c
        .entitlement
        .clone()
        .watch_operation(epb::WatchOperationRequest { name: op.name })
        .await
        .expect("watch")
        .into_inner();
    loop {
        let op = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .expect("progress")
            .expect("open")
            .expect("ok");
        if op.done {
            return match op.result {
                Some(cpb::operation::Result::Response(r)) => {
                    epb::ImportAssignmentsResponse::decode(r.value.as_slice()).expect("decodes")
                }
                other => panic!("the import failed: {other:?}"),
            };
        }
    }
}

/// R-SEAT-3 by CSV: an assignment import's rows are read in file order,
/// a page at a time, with the product each row named.
async fn r_seat_3_an_assignment_imports_rows_are_read_in_pages(backend: Backend) {
    use crate::entitlement::Shop;
    use allot_proto::entitlement as epb;
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("cam").await;
    let team = shop.sign_in(&[("cad", 3), ("cam", 3)]).await.team;
    let owner = shop.owner.clients.clone();
    let ann = shop.member(&owner, &team, "Ann").await;
    let csv = format!("email,product\n{0},cad\n{0},cam\nnope,cad\n", ann.email);
    let op = owner
        .entitlement
        .clone()
        .import_assignments(epb::ImportAssignmentsRequest {
            parent: team.clone(),
            csv: csv.into_bytes(),
            validate_only: true,
            ..Default::default()
        })
        .await
        .expect("import starts")
        .into_inner();
    crate::harness::eventually("the import to finish", || {
        let (mut c, name) = (owner.clone(), op.name.clone());
        async move {
            c.entitlement
                .get_operation(epb::GetOperationRequest { name })
                .await
                .is_ok_and(|o| o.into_inner().done)
        }
    })
    .await;
    let page = |token: String| {
        let (mut c, name) = (owner.clone(), op.name.clone());
        async move {
            c.entitlement
                .list_import_rows(epb::ListImportRowsRequest {
                    name,
                    page_size: 2,
                    page_token: token,
                })
                .await
                .expect("rows")
                .into_inner()
        }
    };
    let first = page(String::new()).await;
    assert_eq!(
        first
            .rows
            .iter()
            .map(|r| (r.line, r.product.as_str()))
            .collect::<Vec<_>>(),
        [(2, "cad"), (3, "cam")]
    );
    let second = page(first.next_page_token).await;
    assert_eq!(second.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [4]);
    // An invalid row has no outcome, only its reason.
    assert_eq!(
        second.rows[0].outcome,
        epb::AssignOutcome::Unspecified as i32
    );
    assert!(
        second.rows[0].message.contains("email"),
        "{}",
        second.rows[0].message
    );
    assert!(second.next_page_token.is_empty());
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_3_an_assignment_imports_rows_are_read_in_pages);

/// R-SEAT-3 by CSV: unknown people are invited first, members only get
/// access; seats hold row by row and a row without a seat says so; bad rows
/// say why; the same file again assigns nothing twice; the admin who
/// started it gets the summary (R-MAIL-3).
async fn r_seat_3_assignments_by_csv(backend: Backend) {
    use crate::entitlement::{Shop, pool};
    use allot_proto::entitlement as epb;
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    shop.product("cam").await;
    let team = shop.sign_in(&[("cad", 2), ("cam", 5)]).await.team;
    let owner = shop.owner.clients.clone();
    let ann = shop.member(&owner, &team, "Ann").await;
    let new = unique_email("newcomer");
    let csv = format!(
        "Email,Product,Items,First Name\n\
         {a},cad,desktop,\n\
         {new},cad,,Nova\n\
         {new},products/cam,desktop;render,Nova\n\
         not-an-address,cam,,\n\
         {a},nope,,\n\
         {a},cam,warp,\n\
         {a},Product cam,,\n",
        a = ann.email
    );
    let r = import_assignments(&owner, &team, &csv).await;
    assert_eq!(
        (
            r.assigned,
            r.already_assigned,
            r.no_seat,
            r.invalid,
            r.invited
        ),
        (3, 0, 1, 3, 1),
        "{r:?}"
    );
    let by_line: Vec<(i32, i32)> = r.rows.iter().map(|r| (r.line, r.outcome)).collect();
    assert_eq!(
        by_line,
        vec![
            (2, epb::AssignOutcome::Assigned as i32),
            (3, epb::AssignOutcome::NoSeat as i32),
            (4, epb::AssignOutcome::Assigned as i32),
            (5, epb::AssignOutcome::Unspecified as i32),
            (6, epb::AssignOutcome::Unspecified as i32),
            (7, epb::AssignOutcome::Unspecified as i32),
            (8, epb::AssignOutcome::Assigned as i32),
        ]
    );
    assert!(r.rows[1].message.contains("invited"), "{:?}", r.rows[1]);
    assert!(r.rows[4].message.contains("product"), "{:?}", r.rows[4]);
    assert!(r.rows[5].message.contains("warp"), "{:?}", r.rows[5]);
    let cad = pool(&owner, &team, "cad").await;
    assert_eq!((cad.seats, cad.assigned), (2, 2), "never more than bought");
    assert_eq!(pool(&owner, &team, "cam").await.assigned, 3);
    // The newcomer was invited into the team, and told about the product.
    let invitation = env_mail(&shop, &new, "invit").await;
    assert!(invitation.contains("Nova"), "{invitation}");
    // R-MAIL-1: it names the admin who imported, not Allot.
    assert!(invitation.contains("Olivia"), "{invitation}");
    let done = shop
        .env
        .mail_with_subject(&shop.owner.email, "import", 1)
        .await;
    assert!(
        done[0].decoded().contains("line 3"),
        "{}",
        done[0].decoded()
    );

    let again = import_assignments(&owner, &team, &csv).await;
    assert_eq!(
        (
            again.assigned,
            again.already_assigned,
            again.no_seat,
            again.invalid,
            again.invited
        ),
        (0, 3, 1, 3, 0),
        "the same file assigns nothing twice"
    );
    assert_eq!(pool(&owner, &team, "cam").await.assigned, 3);
    // Bad files and callers are refused before anything is written.
    let err = owner
        .entitlement
        .clone()
        .import_assignments(epb::ImportAssignmentsRequest {
            parent: team.clone(),
            csv: b"email\nx@example.com\n".to_vec(),
            validate_only: false,
            ..Default::default()
        })
        .await
        .expect_err("no product column");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("no product column"),
        "{}",
        err.message()
    );
    let err = ann
        .clients
        .entitlement
        .clone()
        .import_assignments(epb::ImportAssignmentsRequest {
            parent: team.clone(),
            csv: csv.as_bytes().to_vec(),
            validate_only: false,
            ..Default::default()
        })
        .await
        .expect_err("users do not assign");
    assert_eq!(err.code(), Code::PermissionDenied);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_seat_3_assignments_by_csv);

async fn env_mail(shop: &crate::entitlement::Shop, to: &str, subject: &str) -> String {
    shop.env.mail_with_subject(to, subject, 1).await[0].decoded()
}

/// R-INV-5 with the optional columns: people go into the named groups (made
/// when missing) and get the named products through an assignment job.
async fn r_inv_5_group_and_product_columns(backend: Backend) {
    use crate::entitlement::{Shop, pool};
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 3)]).await.team;
    let owner = shop.owner.clients.clone();
    let (a, b) = (unique_email("grp.a"), unique_email("grp.b"));
    let csv = format!(
        "email,first name,last name,group,product\n\
         {a},Ann,A,Drafters;Reviewers,cad\n\
         {b},Bob,B,drafters,\n"
    );
    let op = import(&owner, &team, &csv, false).await.expect("import");
    let (_, r) = wait_done(&owner, &op).await;
    assert_eq!(r.invited, 2, "{r:?}");
    let groups = owner
        .team
        .clone()
        .list_groups(tpb::ListGroupsRequest {
            parent: team.clone(),
            ..Default::default()
        })
        .await
        .expect("groups")
        .into_inner()
        .groups;
    let count = |name: &str| {
        groups
            .iter()
            .find(|g| g.display_name == name)
            .map(|g| g.member_count)
    };
    assert_eq!(
        count("Drafters"),
        Some(2),
        "one group, matched without case: {groups:?}"
    );
    assert_eq!(count("Reviewers"), Some(1));
    let deadline = Instant::now() + Duration::from_secs(60);
    while pool(&owner, &team, "cad").await.assigned < 2 {
        assert!(
            Instant::now() < deadline,
            "the product column was never assigned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        pool(&owner, &team, "cad").await.assigned,
        2,
        "the owner and Ann"
    );
    // The member import's summary and its assignment job's (R-MAIL-3).
    let done = shop
        .env
        .mail_with_subject(&shop.owner.email, "import", 2)
        .await;
    assert!(
        done.iter()
            .any(|m| m.decoded().contains("being assigned in operations/")),
        "the member import's summary names the assignment job"
    );
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_inv_5_group_and_product_columns);

/// R-MAIL-3: an import whose rows carry megabyte cells still mails its
/// summary, its `operation_finished` event stays small, and the streams
/// behind it keep flowing: an invitation made afterwards is mailed too.
async fn r_mail_3_megabyte_cells_jam_no_stream(backend: Backend) {
    let env = Env::in_process(backend).await;
    let mut admin = env.admin().await;
    let team = env.first_team().await.name;
    let cell = "x".repeat(1_500_000);
    let mut csv = String::from("email,first name\n");
    for i in 0..4 {
        csv.push_str(&format!("{cell}{i},Big\n"));
    }
    assert!(csv.len() > 6_000_000);
    let op = import(&admin, &team, &csv, false)
        .await
        .expect("import starts");
    let (_, done) = wait_done(&admin, &op).await;
    assert_eq!(done.invalid, 4);
    for row in &done.rows {
        assert!(
            row.email.len() < 100 && row.message.len() < 1000,
            "row {} keeps a short quote, not {} bytes",
            row.line,
            row.email.len()
        );
    }
    let summary = env.mail_with_subject(ADMIN_EMAIL, "import", 1).await;
    assert!(
        summary[0].decoded().contains("4 invalid"),
        "{}",
        summary[0].decoded()
    );

    let fresh = unique_email("after.big");
    crate::invitations::invite(&mut admin, &team, "After", "Big", &fresh).await;
    assert_eq!(
        env.mail_to(&fresh, 1).await.len(),
        1,
        "the invitation still goes out"
    );

    let mut events = env
        .internal()
        .await
        .team
        .watch(tpb::WatchRequest {
            event_types: vec!["operation_finished".into()],
            ..Default::default()
        })
        .await
        .expect("watch")
        .into_inner();
    let event = loop {
        let item = tokio::time::timeout(Duration::from_secs(30), events.next())
            .await
            .expect("the stream answers")
            .expect("open")
            .expect("no error");
        if let Some(tpb::watch_response::Kind::Event(e)) = item.kind {
            break e;
        }
    };
    assert!(
        event.encoded_len() < allot_platform::outbox::MAX_EVENT_BYTES,
        "the finished event is {} bytes",
        event.encoded_len()
    );
    env.shutdown().await;
}
crate::on_both_backends!(r_mail_3_megabyte_cells_jam_no_stream);

/// R-CLS-3: classic products are assigned by user only. An assignment
/// file naming one is refused on that row with the reason while the other
/// rows go on; so is the product column of a member import.
async fn r_cls_3_classic_products_are_refused_by_csv(backend: Backend) {
    use crate::entitlement::{Shop, classic_contract, pool};
    use allot_proto::entitlement as epb;
    let shop = Shop::open(backend).await;
    shop.product("old").await;
    shop.product("cad").await;
    let owner = shop.owner.clients.clone();
    let team = shop
        .buy(
            &shop.owner.account,
            classic_contract("SN-CSV"),
            &[("old", 5)],
        )
        .await
        .team;
    shop.buy(
        &shop.owner.account,
        epb::Contract {
            team: team.clone(),
            ..crate::entitlement::sign_in_contract()
        },
        &[("cad", 5)],
    )
    .await;
    let ann = shop.member(&owner, &team, "Ann").await;
    let before = pool(&owner, &team, "old").await.assigned;
    let csv = format!("email,product\n{a},old\n{a},cad\n", a = ann.email);
    let r = import_assignments(&owner, &team, &csv).await;
    let rows: Vec<(i32, i32)> = r.rows.iter().map(|r| (r.line, r.outcome)).collect();
    assert_eq!(
        rows,
        vec![
            (2, epb::AssignOutcome::Refused as i32),
            (3, epb::AssignOutcome::Assigned as i32),
        ]
    );
    assert!(r.rows[0].message.contains("by user"), "{:?}", r.rows[0]);
    assert_eq!(pool(&owner, &team, "old").await.assigned, before);

    // The member import's product column goes the same way.
    let new = unique_email("classic.csv");
    let op = import(
        &owner,
        &team,
        &format!("email,products\n{new},old\n"),
        false,
    )
    .await
    .expect("member import starts");
    let (_, done) = wait_done(&owner, &op).await;
    assert_eq!(done.invited, 1);
    // The direct import's summary, the member import's, and the nested
    // assignment import's (R-MAIL-3), which reports the refusal too.
    let mail = shop
        .env
        .mail_with_subject(&shop.owner.email, "import", 3)
        .await;
    assert_eq!(
        mail.iter()
            .filter(|m| m.decoded().contains("by user"))
            .count(),
        2,
        "the nested assignment import reports the refusal"
    );
    assert_eq!(pool(&owner, &team, "old").await.assigned, before);
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_cls_3_classic_products_are_refused_by_csv);

/// R-MAIL-3: the assignment job a member import starts for its product
/// column is the admin's own: it mails them its summary, and they can
/// follow it; invitations it leads to name the admin, not "Allot".
async fn r_mail_3_the_nested_assignment_job_mails_the_admin(backend: Backend) {
    use crate::entitlement::Shop;
    let shop = Shop::open(backend).await;
    shop.product("cad").await;
    let team = shop.sign_in(&[("cad", 5)]).await.team;
    let owner = shop.owner.clients.clone();
    let new = unique_email("nested");
    let op = import(
        &owner,
        &team,
        &format!("email,first name,products\n{new},Nia,cad\n"),
        false,
    )
    .await
    .expect("member import");
    wait_done(&owner, &op).await;
    let mails = shop
        .env
        .mail_with_subject(&shop.owner.email, "import", 2)
        .await;
    let nested = mails
        .iter()
        .find(|m| m.decoded().contains("Assigned 1"))
        .expect("the assignment job's summary reaches the admin");
    let text = nested.decoded();
    let name = text
        .split_whitespace()
        .find(|w| w.starts_with("operations/"))
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_alphanumeric())
                .to_owned()
        })
        .expect("the summary names its operation");
    owner
        .entitlement
        .clone()
        .get_operation(allot_proto::entitlement::GetOperationRequest { name })
        .await
        .expect("the admin can read the nested operation");
    let invitation = shop.env.mail_to(&new, 1).await.remove(0);
    let subject = invitation.header("Subject").unwrap_or_default();
    assert!(subject.contains("Olivia"), "names the admin: {subject}");
    shop.env.shutdown().await;
}
crate::on_both_backends!(r_mail_3_the_nested_assignment_job_mails_the_admin);

/// R-MAIL-3 at scale: a 100,000-row import (here every row names a member
/// already in the team, so no mail floods the test's SMTP server) finishes,
/// its answer and its event stay small, and its summary email arrives.
async fn r_mail_3_a_100000_row_import_still_mails_its_summary(backend: Backend) {
    const ROWS: usize = 100_000;
    let env = Env::in_process_with(backend, |c| c.import.max_rows = ROWS).await;
    let admin = env.admin().await;
    let team = env.first_team().await.name;
    let mut csv = String::with_capacity(ROWS * 40);
    csv.push_str("email,first name\n");
    for i in 0..ROWS {
        // Every 10th row is not an address, so the problem rows are many.
        if i % 10 == 0 {
            csv.push_str(&format!("not-an-address-{i},X\n"));
        } else {
            csv.push_str(&format!("{ADMIN_EMAIL},Admin\n"));
        }
    }
    let started = Instant::now();
    let op = import(&admin, &team, &csv, false)
        .await
        .expect("import starts");
    // Every answer on the way fits a message, or the stream would fail.
    let (_, done) = wait_done(&admin, &op).await;
    assert_eq!(
        (done.already_member, done.invalid),
        (90_000, 10_000),
        "the counts are complete"
    );
    assert_eq!(done.rows.len(), allot_platform::jobs::RESPONSE_ROWS);
    let mail = env.mail_with_subject(ADMIN_EMAIL, "import", 1).await;
    assert!(
        mail[0].decoded().contains("10000 invalid"),
        "{}",
        mail[0].decoded()
    );
    eprintln!(
        "{ROWS}-row import to its summary email: {:?}",
        started.elapsed()
    );
    env.shutdown().await;
}
crate::on_both_backends!(r_mail_3_a_100000_row_import_still_mails_its_summary);
