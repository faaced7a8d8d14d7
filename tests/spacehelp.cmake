# spacehelp.cmake - the harness that search-space tests link (tests/helpers/spacehelp.h).
add_library(spacehelp STATIC helpers/spacehelp.c)
target_link_libraries(spacehelp PUBLIC enas_core)
target_include_directories(spacehelp PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/helpers ${CMAKE_CURRENT_SOURCE_DIR})
