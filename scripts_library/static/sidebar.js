// The chat-toolbar sidebar of the script library (企业话术库).
//
// On load: fetch the signed wx.config / wx.agentConfig arguments for this page, register both,
// then ask WeCom where the page was opened (getContext) and, in a one-to-one customer chat,
// which customer it is (getCurExternalContact). 发送 asks the server for the script's
// sendChatMessage parameters, sends them into the chat and, once WeCom says it is sent,
// records the use.
(function () {
  'use strict';

  var root = document.getElementById('sidebar');
  if (!root) {
    return;
  }
  var API = root.getAttribute('data-api');
  var CONFIG_APIS = ['agentConfig', 'sendChatMessage', 'getContext', 'getCurExternalContact'];
  var AGENT_APIS = ['sendChatMessage', 'getContext', 'getCurExternalContact'];
  var CHAT_ENTRIES = ['single_chat_tools', 'group_chat_tools'];
  var DEBOUNCE_MS = 250;

  var q = document.getElementById('q');
  var noticeBox = document.getElementById('notice');
  var categoryBox = document.getElementById('categories');
  var results = document.getElementById('results');
  var empty = document.getElementById('empty');
  var tabs = Array.prototype.slice.call(document.querySelectorAll('nav [data-tab]'));

  var state = {
    tab: 'search',
    canSend: false,
    customer: null, // the external userid of the customer of a one-to-one chat
    seq: 0, // the latest list request: older answers are dropped
    timer: null,
  };

  function notice(text, isError) {
    noticeBox.hidden = !text;
    noticeBox.textContent = text || '';
    noticeBox.className = isError ? 'error' : '';
  }

  async function request(method, path, body) {
    var options = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method === 'POST') {
      options.headers['Content-Type'] = 'application/json';
      options.headers['X-Opsbot-Sidebar'] = '1';
      options.body = JSON.stringify(body);
    }
    var resp;
    try {
      resp = await fetch(API + path, options);
    } catch (e) {
      throw new Error('网络不通，请稍后再试');
    }
    var data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      if (resp.status === 401) {
        notice('登录已过期，请关闭后重新打开话术库。', true);
      }
      throw new Error((data && data.error) || '请求失败（HTTP ' + resp.status + '）');
    }
    return data;
  }

  function get(path, params) {
    var query = new URLSearchParams(params || {}).toString();
    return request('GET', path + (query ? '?' + query : ''));
  }

  function post(path, body) {
    return request('POST', path, body);
  }

  // Lists

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function row(item) {
    var li = el('li', 'item');
    li.setAttribute('data-id', String(item.id));
    var main = el('div', 'main');
    main.appendChild(el('div', 'title', item.title));
    var meta = el('div', 'meta');
    meta.appendChild(el('span', 'kind', item.kind_name));
    var extra = [];
    if (item.shortcode) {
      extra.push('#' + item.shortcode);
    }
    if (item.personal) {
      extra.push('个人');
    }
    if (item.why) {
      extra.push('匹配' + item.why);
    }
    meta.appendChild(document.createTextNode(extra.join(' · ')));
    main.appendChild(meta);
    if (item.preview) {
      main.appendChild(el('div', 'preview', item.preview));
    }
    var result = el('div', 'result');
    main.appendChild(result);
    var button = el('button', 'send', '发送');
    button.type = 'button';
    button.disabled = !state.canSend;
    button.addEventListener('click', function () {
      send(item, button, result);
    });
    li.appendChild(main);
    li.appendChild(button);
    return li;
  }

  function show(items, emptyText) {
    results.textContent = '';
    items.forEach(function (item) {
      results.appendChild(row(item));
    });
    empty.hidden = items.length > 0;
    empty.textContent = emptyText;
  }

  async function load(path, params, emptyText) {
    var seq = ++state.seq;
    try {
      var items = await get(path, params);
      if (seq === state.seq) {
        show(items, emptyText);
      }
    } catch (e) {
      if (seq === state.seq) {
        show([], e.message);
      }
    }
  }

  function search() {
    var query = q.value.trim();
    if (!query) {
      state.seq++;
      show([], '输入关键词查找话术');
      return;
    }
    load('search', { q: query }, '没有找到「' + query + '」相关的话术');
  }

  async function showCategories() {
    var seq = ++state.seq;
    show([], '选择一个分类');
    categoryBox.textContent = '';
    var categories;
    try {
      categories = await get('categories');
    } catch (e) {
      show([], e.message);
      return;
    }
    if (seq !== state.seq) {
      return;
    }
    if (!categories.length) {
      show([], '还没有分类');
      return;
    }
    categories.forEach(function (category) {
      var button = el('button', '', category.path);
      button.type = 'button';
      button.setAttribute('aria-pressed', 'false');
      button.addEventListener('click', function () {
        categoryBox.querySelectorAll('button').forEach(function (b) {
          b.setAttribute('aria-pressed', String(b === button));
        });
        load('category', { path: category.path }, '这个分类下还没有话术');
      });
      categoryBox.appendChild(button);
    });
  }

  function selectTab(name) {
    state.tab = name;
    tabs.forEach(function (tab) {
      tab.setAttribute('aria-selected', String(tab.getAttribute('data-tab') === name));
    });
    categoryBox.hidden = name !== 'categories';
    if (name === 'search') {
      search();
    } else if (name === 'categories') {
      showCategories();
    } else if (name === 'favourites') {
      load('favourites', null, '还没有收藏的话术（在应用聊天里搜索后发「收藏 <序号>」）');
    } else {
      load('recent', null, '最近没有发送过话术');
    }
  }

  tabs.forEach(function (tab) {
    tab.addEventListener('click', function () {
      selectTab(tab.getAttribute('data-tab'));
    });
  });

  q.addEventListener('input', function () {
    clearTimeout(state.timer);
    state.timer = setTimeout(function () {
      if (state.tab !== 'search') {
        selectTab('search');
      } else {
        search();
      }
    }, DEBOUNCE_MS);
  });

  // Sending

  function mark(result, text, kind) {
    result.textContent = text;
    result.className = 'result' + (kind ? ' ' + kind : '');
  }

  async function send(item, button, result) {
    if (!state.canSend) {
      return;
    }
    button.disabled = true;
    mark(result, '正在准备…');
    var customer = state.customer ? { id: state.customer } : null;
    var params;
    try {
      params = await post('prepare', { id: item.id, customer: customer });
    } catch (e) {
      mark(result, e.message, 'error');
      button.disabled = false;
      return;
    }
    wx.invoke('sendChatMessage', params, async function (res) {
      var message = (res && res.err_msg) || '';
      if (message === 'sendChatMessage:ok') {
        try {
          await post('sent', { id: item.id, customer: customer });
          mark(result, '已发送', 'ok');
        } catch (e) {
          mark(result, '已发送（未能记录：' + e.message + '）', 'ok');
        }
      } else if (message === 'sendChatMessage:cancel') {
        mark(result, '已取消');
      } else {
        mark(result, '发送失败：' + (message || '企业微信没有回应'), 'error');
      }
      button.disabled = false;
    });
  }

  function enableSending() {
    state.canSend = true;
    results.querySelectorAll('.send').forEach(function (button) {
      button.disabled = false;
    });
  }

  // The JS-SDK

  function errorText(res) {
    return (res && (res.errMsg || res.err_msg)) || '未知错误';
  }

  function learnContext() {
    wx.invoke('getContext', {}, function (res) {
      if (!res || res.err_msg !== 'getContext:ok' || CHAT_ENTRIES.indexOf(res.entry) < 0) {
        notice('请从客户聊天的工具栏打开');
        return;
      }
      if (res.entry !== 'single_chat_tools') {
        notice('');
        enableSending();
        return;
      }
      wx.invoke('getCurExternalContact', {}, function (contact) {
        if (contact && contact.err_msg === 'getCurExternalContact:ok') {
          state.customer = contact.userId;
        }
        notice('');
        enableSending();
      });
    });
  }

  async function setUpSdk() {
    if (typeof wx === 'undefined' || !wx.config || !wx.agentConfig) {
      notice('企业微信 JS-SDK 没有加载，请在企业微信里打开话术库。', true);
      return;
    }
    var signed;
    try {
      signed = await get('config', { url: location.href.split('#')[0] });
    } catch (e) {
      notice('无法初始化：' + e.message, true);
      return;
    }
    notice('正在连接企业微信…');
    wx.config({
      beta: true,
      debug: false,
      appId: signed.corpid,
      timestamp: signed.config.timestamp,
      nonceStr: signed.config.nonceStr,
      signature: signed.config.signature,
      jsApiList: CONFIG_APIS,
    });
    wx.error(function (res) {
      notice('企业微信接口验证失败：' + errorText(res), true);
    });
    wx.ready(function () {
      wx.agentConfig({
        corpid: signed.corpid,
        agentid: signed.agentid,
        timestamp: signed.agentConfig.timestamp,
        nonceStr: signed.agentConfig.nonceStr,
        signature: signed.agentConfig.signature,
        jsApiList: AGENT_APIS,
        success: learnContext,
        fail: function (res) {
          notice('应用身份验证失败：' + errorText(res), true);
        },
      });
    });
  }

  setUpSdk();
  q.focus();
})();
